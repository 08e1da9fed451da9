"""Controlled restarts: a watchdog asks, the App stops between parts and exits non-zero.

A watchdog never kills the process itself. It calls ``RestartRequest.request``;
the App's handler stops intake, drains the parts in flight (so no part is cut
in half) and exits with the given code, which ``Restart=on-failure`` in the
systemd unit turns into a restart.

A stalled stage has no code here: a hung stage cannot drain, so no controlled stop is
possible. It makes the health failing instead, which stops the WATCHDOG=1 pulses;
systemd's ``WatchdogSec=`` then aborts the daemon and ``Restart=on-failure`` starts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from inspector.logging import get_logger

log = get_logger("watchdog.restart")


class RestartExit(IntEnum):
    """Exit codes of a watchdog-requested restart (distinct from user errors 1/2)."""

    MEMORY_LEAK = 75  # EX_TEMPFAIL: host memory trend or limit
    CUDA_OOM = 76  # repeated CUDA out-of-memory, degrading could not help


@dataclass(frozen=True, slots=True)
class RestartReason:
    exit_code: RestartExit
    message: str


class RestartRequest:
    """Set once; later requests are ignored. Handlers run on the requesting thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason: RestartReason | None = None
        self._handlers: list[Callable[[RestartReason], None]] = []

    def on_request(self, handler: Callable[[RestartReason], None]) -> None:
        with self._lock:
            self._handlers.append(handler)

    def request(self, exit_code: RestartExit, message: str) -> bool:
        """Ask for a controlled restart; False if one was already requested."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = RestartReason(exit_code, message)
            handlers = list(self._handlers)
        self._event.set()
        log.error("restart_requested", exit_code=int(exit_code), cause=exit_code.name, message=message)
        for handler in handlers:
            handler(self._reason)
        return True

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> RestartReason | None:
        return self._reason

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)
