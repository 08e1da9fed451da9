"""SIGTERM/SIGINT: the first starts a graceful shutdown, the second aborts, a third leaves at once."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from inspector.app.app import App
from inspector.app.stage import log

EXIT_CLEAN = 0
EXIT_UNCLEAN = 1  # the drain deadline passed, or a second signal cut it short
EXIT_HARD = 3  # a third signal: the process leaves without stopping anything


class ShutdownSignals:
    """Signal handlers that only set events on the App (no work inside a handler)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.received = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        name = signal.Signals(signum).name
        if self.received == 1:
            self.app.request_shutdown(name)
        elif self.received == 2:
            self.app.abort()
        else:
            os._exit(EXIT_HARD)


@contextmanager
def shutdown_signals(app: App) -> Iterator[ShutdownSignals]:
    """Install the handlers for the duration (main thread only), then restore the previous ones."""
    handler = ShutdownSignals(app)
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield handler
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_app(app: App) -> int:
    """Start ``app``, run until a signal or the end of the sources, stop; the process exit code."""
    with shutdown_signals(app) as signals:
        app.start()
        clean = app.run_until_stopped()
    code = EXIT_CLEAN if clean else EXIT_UNCLEAN
    if app.exit_code is not None:  # a watchdog asked for a restart (inspector.watchdog.restart)
        code = app.exit_code
    log.info("exit", code=code, signals=signals.received, clean=clean)
    return code
