"""SIGTERM/SIGINT: the first starts a graceful shutdown, the second aborts, a third leaves at once.
SIGHUP (``systemctl reload``): the config file is read again (``inspector.app.reload``)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from inspector.app.app import App
from inspector.app.compose import build_line
from inspector.app.line import LineControl
from inspector.app.reload import ConfigReloader
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


class ReloadSignal:
    """SIGHUP's handler: it only asks the reloader's thread to read the config again; one that
    comes during the model load is kept until the line runs."""

    def __init__(self) -> None:
        self.reloader: ConfigReloader | None = None
        self.pending = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.reloader is None:
            self.pending = True
        else:
            self.reloader.request("SIGHUP")

    def attach(self, reloader: ConfigReloader) -> None:
        self.reloader = reloader
        if self.pending:
            reloader.request("SIGHUP (during start)")


@contextmanager
def reload_signal(handler: ReloadSignal) -> Iterator[ReloadSignal]:
    """SIGHUP to ``handler`` for the duration (main thread only); its default would end the process."""
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    previous = signal.signal(signal.SIGHUP, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGHUP, previous)


def run_app(app: App) -> int:
    """Start ``app``, run until a signal or the end of the sources, stop; the process exit code."""
    return _run(app.control, lambda: app)


def run_daemon(config: InspectorConfig, path: Path | None = None) -> int:
    """``run_app`` for the line of ``config``, built with the signal handlers already in place: a
    SIGTERM during the model load stops the line as soon as it has started. SIGHUP re-reads
    ``path`` (the file ``config`` came from) and applies what may change while running."""
    control = LineControl()
    return _run(control, lambda: App(build_line(config, control=control)), (config, path))


def _run(
    control: LineControl,
    make_app: Callable[[], App],
    reloads: tuple[InspectorConfig, Path | None] | None = None,
) -> int:
    hup = ReloadSignal()
    with shutdown_signals(control) as signals, reload_signal(hup):
        app = make_app()
        app.start()
        reloader = None
        if reloads is not None:
            reloader = ConfigReloader(reloads[0], reloads[1], app.line.recipes)
            reloader.start()
            hup.attach(reloader)
        try:
            clean = app.run_until_stopped()
        finally:
            if reloader is not None:
                reloader.stop()
    code = EXIT_CLEAN if clean else EXIT_UNCLEAN
    if app.exit_code is not None:  # a watchdog asked for a restart (inspector.watchdog.restart)
        code = app.exit_code
    log.info("exit", code=code, signals=signals.received, clean=clean)
    return code
