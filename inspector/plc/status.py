"""Status word, heartbeat counter and error code: one 3-register write.

Only one writer composes and writes these registers (under a lock), so a
heartbeat write can never undo a result-valid change made a moment earlier.
The heartbeat counter advances every period only while the daemon is healthy
and the link is up; a frozen counter is how the PLC knows to stop trusting us.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from inspector.errors import PlcError
from inspector.plc.connection import LinkConnection
from inspector.plc.link import PlcLink
from inspector.plc.registers import STATUS, U16_MAX, encode
from inspector.plc.state import OutputState
from inspector.plc.waits import wait_event


class StatusWriter:
    """Writes ``[status word, heartbeat, error code]`` on change and every heartbeat period."""

    def __init__(
        self,
        connection: LinkConnection,
        link: PlcLink,
        state: OutputState,
        address: int,
        period_s: float,
        log: Any,
    ) -> None:
        self._conn = connection
        self._link = link
        self._state = state
        self._address = address
        self._period = period_s
        self._log = log
        self._lock = asyncio.Lock()
        self._dirty = asyncio.Event()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def words(self) -> list[int]:
        state = self._state
        values = {
            "status_word": int(state.status),
            "heartbeat": state.heartbeat,
            "error_code": state.error_code,
            "recipe": state.recipe,
        }
        return encode(STATUS, values)

    async def write(self) -> None:
        """Write the current words now; raises PlcError when the link refuses or is down."""
        async with self._lock:
            words = self.words()
            await self._conn.call(lambda: self._link.write_block(self._address, words))

    async def run(self, stop: asyncio.Event) -> None:
        next_beat = time.monotonic() + self._period
        while not stop.is_set():
            await wait_event(self._dirty, next_beat - time.monotonic())
            self._dirty.clear()
            now = time.monotonic()
            if now >= next_beat:
                if self._state.healthy and self._conn.is_up:
                    self._state.heartbeat = (self._state.heartbeat + 1) & U16_MAX
                # Never catch up a backlog of beats: one step per period at most.
                next_beat = max(next_beat + self._period, now + self._period / 2)
            if not self._conn.is_up:
                continue
            try:
                await self.write()
            except PlcError:
                continue
