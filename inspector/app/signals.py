"""SIGTERM/SIGINT: the first starts a graceful shutdown, the second aborts, a third leaves at once."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from inspector.app.app import App
from inspector.app.compose import build_line
from inspector.app.line import LineControl
from inspector.app.stage_thread import log
from inspector.config.settings import InspectorConfig

EXIT_CLEAN = 0
EXIT_UNCLEAN = 1  # the drain deadline passed, or a second signal cut it short
EXIT_HARD = 3  # a third signal: the process leaves without stopping anything


class ShutdownSignals:
    """Signal handlers that only set events on the line's stop switches (no work inside a handler)."""

    def __init__(self, control: LineControl) -> None:
        self.control = control
        self.received = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        name = signal.Signals(signum).name
        if self.received == 1:
            self.control.request_shutdown(name)
        elif self.received == 2:
            self.control.abort()
        else:
            os._exit(EXIT_HARD)


@contextmanager
def shutdown_signals(control: LineControl) -> Iterator[ShutdownSignals]:
    """Install the handlers for the duration (main thread only), then restore the previous ones."""
    handler = ShutdownSignals(control)
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
    return _run(app.control, lambda: app)


def run_daemon(config: InspectorConfig) -> int:
    """``run_app`` for the line of ``config``, built with the signal handlers already in place: a
    SIGTERM during the model load stops the line as soon as it has started."""
    control = LineControl()
    return _run(control, lambda: App(build_line(config, control=control)))


def _run(control: LineControl, make_app: Callable[[], App]) -> int:
    with shutdown_signals(control) as signals:
        app = make_app()
        app.start()
        clean = app.run_until_stopped()
    code = EXIT_CLEAN if clean else EXIT_UNCLEAN
    if app.exit_code is not None:  # a watchdog asked for a restart (inspector.watchdog.restart)
        code = app.exit_code
    log.info("exit", code=code, signals=signals.received, clean=clean)
    return code
