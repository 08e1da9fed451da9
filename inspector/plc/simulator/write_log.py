"""What the simulated PLC was told: every write a client made (the newest ones, bounded) and the
coil pulses it saw, readable from any thread while the server's loop appends."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from inspector.logging import get_logger

WRITE_LOG_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class WriteEvent:
    """One write a client made: when (monotonic and UTC), which function, where, what."""

    t: float
    utc: str
    function_code: int
    address: int
    values: tuple[int, ...]


class WriteLog:
    """Writes in arrival order and, per coil, its state and how often a client switched it on."""

    def __init__(self, limit: int = WRITE_LOG_LIMIT, log_writes: bool = False) -> None:
        self._lock = threading.Lock()
        # the newest writes only: a long run in-process (the soak) must not grow with its log
        self._writes: deque[WriteEvent] = deque(maxlen=limit)
        self._coils: dict[int, bool] = {}
        self._rises: dict[int, int] = {}
        self._log_writes = log_writes
        self._log = get_logger("inspector.plc.simulator")

    def record(self, function_code: int, address: int, values: list[int] | list[bool]) -> None:
        event = WriteEvent(
            t=time.monotonic(),
            utc=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            function_code=function_code,
            address=address,
            values=tuple(int(v) for v in values),
        )
        with self._lock:
            self._writes.append(event)
            if function_code in (5, 15):
                for offset, value in enumerate(event.values):
                    coil = address + offset
                    if value and not self._coils.get(coil, False):
                        self._rises[coil] = self._rises.get(coil, 0) + 1
                    self._coils[coil] = bool(value)
        if self._log_writes:
            self._log.info(
                "plc_sim.write", utc=event.utc, fc=function_code, address=address, values=list(event.values)
            )

    def writes(self) -> list[WriteEvent]:
        with self._lock:
            return list(self._writes)

    def coil_rises(self, coil: int) -> int:
        with self._lock:
            return self._rises.get(coil, 0)

    def coil_state(self, coil: int) -> bool:
        with self._lock:
            return self._coils.get(coil, False)
