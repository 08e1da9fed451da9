"""Keeps the PLC link connected: capped exponential backoff, state changes logged.

``call`` runs one request through the adapter; a ``PlcUnavailable`` marks the link
down (the connection closes and reconnects it), an exception reply is counted and
leaves the link up. The link counts as up only after a connect, and stays up
while requests succeed.

Backoff (``reconnect_min_ms`` doubling to ``reconnect_max_ms``) applies to failed
connects and to connections that failed before any request succeeded: a hung
PLC accepts the socket but never answers, and reconnecting at once would flap
the link several times a second. Only a working request resets it, so a PLC that
answered and then died (killed, cable pulled) is reconnected to at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from inspector.errors import PlcError, PlcUnavailable
from inspector.plc.link import PlcExceptionReply, PlcLink
from inspector.plc.records import PlcErrorCode
from inspector.plc.state import OutputState
from inspector.plc.waits import wait_any, wait_event

T = TypeVar("T")
CONNECT_BOUND_S = 5.0  # a connect attempt never takes longer than this, whatever the transport does
ATTEMPTS_KEPT = 32


class LinkConnection:
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
        self._proven = True  # the current connection has served a request
        self._backoff_owed = False  # the last connection failed before serving any request
        self.attempts: deque[float] = deque(maxlen=ATTEMPTS_KEPT)  # monotonic times of connect attempts
        self.epoch = 0  # increments on every (re)connect: a handshake step never spans two connections
        self._last_connect_ok = False
        self._down_since = time.monotonic()

    @property
    def is_up(self) -> bool:
        return self.up.is_set()

    @property
    def reachable(self) -> bool:
        """Up, or down only since a request failed (its last connect worked): it reconnects
        within its backoff. False once a connect attempt fails (nothing listening)."""
        return self.up.is_set() or self._last_connect_ok

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.up.is_set():
                await wait_any([self._down, stop])
                continue
            if self._ever_up:
                await self.link.close()  # drop the failed connection before opening a new one
            if self._backoff_owed:
                self._backoff_owed = False
                await self._back_off(stop)  # it connected but never answered: do not flap
                if stop.is_set():
                    break
            if await self._connect():
                self._mark_up()
                continue
            await self._back_off(stop)

    async def _connect(self) -> bool:
        self.attempts.append(time.monotonic())
        try:
            ok = bool(await asyncio.wait_for(self.link.connect(), timeout=CONNECT_BOUND_S))
        except (asyncio.TimeoutError, PlcError) as exc:
            self._state.last_error = str(exc) or "connect timed out"
            ok = False
        self._last_connect_ok = ok  # set once known: while the attempt runs, the last one counts
        return ok

    async def _back_off(self, stop: asyncio.Event) -> None:
        await wait_event(stop, self._delay)
        self._delay = min(self._delay * 2, self._max)

    def _mark_up(self) -> None:
        if self.up.is_set():
            return
        down_s = time.monotonic() - self._down_since
        if self._ever_up:
            self._state.count(reconnects=1)
            if not self._state.error_code:
                # Tell the PLC its link to us was interrupted (results held meanwhile follow).
                self._state.error_code = PlcErrorCode.LINK_DOWN
        self._ever_up = True
        self._proven = False
        self._log.info("plc.link_up", link=self.link.description, down_s=round(down_s, 3))
        self.epoch += 1
        self._down.clear()
        self.up.set()
        if self._on_change is not None:
            self._on_change(True)

    def mark_down(self, reason: str) -> None:
        self._state.count(link_failures=1)
        self._state.last_error = reason
        if not self.up.is_set():
            return
        self._down_since = time.monotonic()
        self._backoff_owed = not self._proven
        self._log.warning(
            "plc.link_down",
            link=self.link.description,
            reason=reason,
            retry_in_ms=0 if self._proven else round(self._delay * 1000),
        )
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
            self._proven = True
            self._state.count(exception_replies=1)
            self._state.last_error = str(exc)
            raise
        except PlcUnavailable as exc:
            self.mark_down(str(exc))
            raise
        self._delay = self._min  # only a working request resets the backoff, not a bare connect
        self._proven = True
        return result
