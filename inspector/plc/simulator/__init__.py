"""A simulated PLC: a Modbus server on loopback (or RTU on a serial line) that records every
write, plays the PLC side of the handshake and injects faults (``inspector plc-sim``)."""

from __future__ import annotations

from inspector.plc.simulator.program import PlcProgram, SimCycle
from inspector.plc.simulator.simulator import PlcSimulator
from inspector.plc.simulator.write_log import WriteEvent

__all__ = ["PlcProgram", "PlcSimulator", "SimCycle", "WriteEvent"]
