"""Mutable state of the output stage: status word, error register, counters.

Mutated only on the stage's event-loop thread. Other threads read the counters as one
frozen ``PlcCounters`` (replaced, never changed in place) and the rest as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector.plc.records import PlcErrorCode, StatusBit
from inspector.plc.stats import PlcCounters


@dataclass
class OutputState:
    """Shared by the stage's tasks (all on one event loop)."""

    status: StatusBit = StatusBit.ONLINE
    error_code: int = 0
    heartbeat: int = 0
    healthy: bool = False
    plc_alive: bool | None = None
    dropped_since_last: bool = False
    last_error: str = ""
    recipe: int = 0  # the active recipe (acknowledge register)
    counters: PlcCounters = field(default_factory=PlcCounters)
    # Errors whose cause lasts (e.g. 922 while the PLC heartbeat is lost), oldest first: no result
    # clears them, only the end of their cause does.
    standing: list[int] = field(default_factory=list)

    def count(self, **increments: int) -> None:
        self.counters = self.counters.add(**increments)

    def set_flag(self, bit: StatusBit, on: bool) -> bool:
        """Set or clear a status bit; True when the word changed."""
        before = self.status
        self.status = (self.status | bit) if on else (self.status & ~bit)
        return self.status != before

    def raise_condition(self, code: PlcErrorCode) -> None:
        """An error whose cause lasts: shown now, and again after any result clears the register."""
        if code not in self.standing:
            self.standing.append(code)
        self.error_code = code

    def end_condition(self, code: PlcErrorCode) -> None:
        """The cause of a standing error is gone: the register falls back to what still stands."""
        if code in self.standing:
            self.standing.remove(code)
        if self.error_code == code:
            self.clear_error()

    def clear_error(self) -> None:
        """An on-time result clears the register, except for errors whose cause still lasts."""
        self.error_code = self.standing[-1] if self.standing else PlcErrorCode.NONE
