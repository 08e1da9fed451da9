"""PLC link: Modbus output of verdicts with handshake, heartbeat, statistics and fail-safe."""

from inspector.plc.config import PlcConfig
from inspector.plc.output import PlcOutput
from inspector.plc.records import Trigger
from inspector.plc.state import PlcStats

__all__ = ["PlcConfig", "PlcOutput", "PlcStats", "Trigger"]
