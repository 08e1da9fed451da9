"""PLC link: Modbus output of verdicts with handshake, heartbeat, statistics and fail-safe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.plc.config import PlcConfig
    from inspector.plc.output import PlcOutput
    from inspector.plc.records import Trigger
    from inspector.plc.stats import PlcCounters, PlcStats

_EXPORTS = {
    "PlcConfig": "inspector.plc.config",
    "PlcOutput": "inspector.plc.output",
    "Trigger": "inspector.plc.records",
    "PlcCounters": "inspector.plc.stats",
    "PlcStats": "inspector.plc.stats",
}

__all__ = ["PlcConfig", "PlcCounters", "PlcOutput", "PlcStats", "Trigger"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
