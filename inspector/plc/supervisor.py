"""Keeps the PLC link connected: capped exponential backoff, state changes logged.

``call`` runs one request through the adapter; a ``PlcUnavailable`` marks the link
down (the supervisor closes and reconnects it), an exception reply is counted and
leaves the link up. The link counts as up only after a connect, and stays up
while requests succeed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from inspector.errors import PlcError, PlcUnavailable
from inspector.plc.link import PlcExceptionReply, PlcLink
from inspector.plc.state import OutputState

T = TypeVar("T")
CONNECT_BOUND_S = 5.0  # a connect attempt never takes longer than this, whatever the transport does


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True when it is set."""
    if event.is_set():
        return True
    try:
        await asyncio.wait_for(event.wait(), timeout=max(0.0, timeout))
    except asyncio.TimeoutError:
        return False
    return True


async def wait_any(events: list[asyncio.Event], timeout: float | None = None) -> None:
    """Return when one of ``events`` is set (or after ``timeout``); leaves no task behind."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class LinkSupervisor:
    """Connection state machine of one PLC link."""

    def __init__(
        self,
        link: PlcLink,
        state: OutputState,
        log: Any,
        min_delay_s: float,
        max_delay_s: float,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.link = link
        self.up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._state = state
        self._log = log
        self._min = min_delay_s
        self._max = max_delay_s
        self._delay = min_delay_s
        self._on_change = on_change
        self._ever_up = False
        self.epoch = 0  # increments on every (re)connect: a handshake step never spans two connections
        self._down_since = time.monotonic()

    @property
    def is_up(self) -> bool:
        return self.up.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.up.is_set():
                await wait_any([self._down, stop])
                continue
            if self._ever_up:
                await self.link.close()  # drop the failed connection before opening a new one
            try:
                ok = await asyncio.wait_for(self.link.connect(), timeout=CONNECT_BOUND_S)
            except (asyncio.TimeoutError, PlcError) as exc:
                self._state.last_error = str(exc) or "connect timed out"
                ok = False
            if ok:
                self._mark_up()
                continue
            await wait_event(stop, self._delay)
            self._delay = min(self._delay * 2, self._max)

    def _mark_up(self) -> None:
        if self.up.is_set():
            return
        down_s = time.monotonic() - self._down_since
        if self._ever_up:
            self._state.reconnects += 1
        self._ever_up = True
        self._log.info("plc.link_up", link=self.link.description, down_s=round(down_s, 3))
        self.epoch += 1
        self._down.clear()
        self.up.set()
        if self._on_change is not None:
            self._on_change(True)

    def mark_down(self, reason: str) -> None:
        self._state.link_failures += 1
        self._state.last_error = reason
        if not self.up.is_set():
            return
        self._down_since = time.monotonic()
        self._log.warning("plc.link_down", link=self.link.description, reason=reason)
        self.up.clear()
        self._down.set()
        if self._on_change is not None:
            self._on_change(False)

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run one adapter request; failures are recorded and re-raised as PlcError."""
        if not self.up.is_set():
            raise PlcUnavailable(f"PLC link {self.link.description} is down")
        try:
            result = await request()
        except PlcExceptionReply as exc:
            # The PLC answered, so the link is up; the caller retries or gives up.
            self._state.exception_replies += 1
            self._state.last_error = str(exc)
            raise
        except PlcUnavailable as exc:
            self.mark_down(str(exc))
            raise
        self._delay = self._min  # only a working request resets the backoff, not a bare connect
        return result
