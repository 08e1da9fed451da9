"""Reject / alarm coil pulses: when a part's pulse may start, and the pulses themselves.

A part's pulse is due at capture + ``pulses.delay_ms`` and may start until capture +
``pulses.window_ms``; a fail-safe result's pulse until ``pulses.failsafe_window_ms`` (one
more ``late_ms``, capped): a part nobody inspected is never weaker than a rule reject.
Every pulse starts at its due time, holds for its width, and always ends.

A pulse that cannot start before its window closes is counted as failed (the
part's block is already written, flagged, and the error register says why). A
coil that could not be switched off is retried until it is: a stuck reject coil
rejects good parts, which is the safe side, but it must not stay that way.
Overlapping pulses on one coil merge: the coil goes off at the latest end.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from inspector.errors import PlcError
from inspector.plc.config import PulseConfig
from inspector.plc.connection import LinkConnection
from inspector.plc.link import PlcLink
from inspector.plc.records import PlcErrorCode
from inspector.plc.state import OutputState

RETRY_S = 0.02


@dataclass(frozen=True, slots=True)
class PulseWindow:
    """When one part's pulse may start (monotonic seconds)."""

    due: float
    until: float


def pulse_window(pulses: PulseConfig, t_capture: float, failsafe: bool) -> PulseWindow:
    """The part's pulse window: from capture + delay_ms to capture + window_ms (fail-safes: to
    capture + failsafe_window_ms)."""
    end_ms = pulses.failsafe_window_ms if failsafe else pulses.window_ms
    return PulseWindow(t_capture + pulses.delay_ms / 1000.0, t_capture + end_ms / 1000.0)


class Pulser:
    """Schedules coil pulses as tasks on the stage's loop; one lock per coil orders on/off writes."""

    def __init__(self, connection: LinkConnection, link: PlcLink, state: OutputState, log: Any) -> None:
        self._conn = connection
        self._link = link
        self._state = state
        self._log = log
        self._off_at: dict[int, float] = {}
        self._is_on: dict[int, bool] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._off_tasks: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def fire(
        self, coil: int, kind: str, due: float, width_s: float, window_s: float, part_id: int
    ) -> None:
        """Start a pulse: a due one is on before this returns (no task hop); a later one is scheduled."""
        if due <= time.monotonic():
            await self._pulse(coil, kind, due, width_s, window_s, part_id)
        else:
            self._spawn(self._pulse(coil, kind, due, width_s, window_s, part_id))

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _set(self, coil: int, value: bool) -> None:
        await self._conn.call(lambda: self._link.write_coil(coil, value))
        self._is_on[coil] = value

    async def _pulse(
        self, coil: int, kind: str, due: float, width_s: float, window_s: float, part: int
    ) -> None:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lock = self._locks.setdefault(coil, asyncio.Lock())
        async with lock:
            was_on = self._is_on.get(coil, False)
            while True:
                try:
                    await self._set(coil, True)
                    break
                except PlcError as exc:
                    if self._stopping or time.monotonic() > due + window_s:
                        self._state.count(pulse_failures=1)
                        self._state.error_code = PlcErrorCode.PULSE_FAILED
                        self._log.error(
                            "plc.pulse_failed", coil=coil, kind=kind, part_id=part, error=str(exc)
                        )
                        return
                    await asyncio.sleep(RETRY_S)
            self._state.count(**{f"{kind}_pulses": 1})
            if was_on:
                self._state.count(merged_pulses=1)  # still on for an earlier part: one longer pulse
            self._off_at[coil] = max(self._off_at.get(coil, 0.0), time.monotonic() + width_s)
            off_task = self._off_tasks.get(coil)
            if off_task is None or off_task.done():
                self._off_tasks[coil] = self._spawn(self._switch_off_later(coil, lock))

    async def _switch_off_later(self, coil: int, lock: asyncio.Lock) -> None:
        while True:
            wait = self._off_at[coil] - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            async with lock:
                if self._off_at[coil] > time.monotonic():
                    continue  # a later part extended the pulse while we waited for the lock
                await self._switch_off(coil)
                return

    async def _switch_off(self, coil: int) -> None:
        while True:
            try:
                await self._set(coil, False)
                return
            except PlcError as exc:
                if self._stopping:
                    self._log.error("plc.coil_left_on", coil=coil, error=str(exc))
                    return
                await asyncio.sleep(RETRY_S)

    async def stop(self, timeout_s: float) -> None:
        """Finish running pulses (their off writes) within ``timeout_s``, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=0.5)
        for coil, on in list(self._is_on.items()):
            if not on:
                continue
            try:
                await asyncio.wait_for(self._set(coil, False), timeout=0.5)
            except (PlcError, asyncio.TimeoutError):
                self._log.error("plc.coil_left_on", coil=coil)
