"""Progress for long work (model load and warm-up, ``synth`` boards, ``segment`` inputs).

Shown on stderr only when stderr is a terminal: one status line redrawn in place. Into a
pipe, a file or journald nothing is written, so JSON logs and piped results stay clean.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from inspector.logging import set_status_line, watch_events

CLEAR = "\r\x1b[K"  # back to column 0, erase to the end of the line
TICK_S = 0.25


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


class StatusLine:
    """One line on a terminal, rewritten in place; silent when ``enabled`` is false (default:
    whether ``stream``, default ``sys.stderr`` at creation, is a terminal)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self._lock = threading.Lock()
        self._shown = False

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.stream.write(CLEAR + text)
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the line (before other output goes to the same terminal)."""
        if not self.enabled:
            return
        with self._lock:
            if self._shown:
                self.stream.write(CLEAR)
                self.stream.flush()
                self._shown = False

    def __enter__(self) -> StatusLine:
        if self.enabled:
            set_status_line(self)  # log lines to the terminal erase it first
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            set_status_line(None)
        self.clear()


def duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Counter:
    """``LABEL 120/500 (24%) 12s, ~38s left`` on a status line."""

    def __init__(self, line: StatusLine, label: str, total: int | None) -> None:
        self.line, self.label, self.total = line, label, total
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def advance(self, count: int = 1, detail: str = "") -> None:
        self.done += count
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if now - self._drawn >= TICK_S / 2 or finished:  # a few redraws a second at most
            self._drawn = now
            self.line.show(self.text(now - self.started, detail))

    def text(self, elapsed: float, detail: str = "") -> str:
        text = f"{self.label} {self.done}"
        if self.total:
            text += f"/{self.total} ({100 * self.done // self.total}%)"
        text += f" {duration(elapsed)}"
        if self.total and 0 < self.done < self.total:
            text += f", ~{duration(elapsed / self.done * (self.total - self.done))} left"
        return f"{text} {detail}".rstrip()


@contextmanager
def activity(line: StatusLine, text: str | Callable[[], str | None]) -> Iterator[threading.Event]:
    """``TEXT 4s`` redrawn while the body runs (a thread ticks the clock). ``text`` may be a
    callable, asked each tick; it returns None, or the ``done`` event yielded is set, to stop early."""
    done = threading.Event()
    if not line.enabled:
        yield done
        return
    describe = text if callable(text) else (lambda: text)
    started = time.monotonic()

    def tick() -> None:
        while not done.is_set():
            now_text = describe()
            if now_text is None:
                break
            line.show(f"{now_text} {duration(time.monotonic() - started)}")
            done.wait(TICK_S)
        line.clear()

    thread = threading.Thread(target=tick, name="progress", daemon=True)
    thread.start()
    try:
        yield done
    finally:
        done.set()
        thread.join(timeout=5.0)
        line.clear()


# what `inspector run` is doing before the line runs, after each of these log events
STARTUP_PHASES = {
    "engine_loaded": "starting: opening the sources and the PLC link",
    "line_started": None,
    "ready": None,
    "exit": None,
}


@contextmanager
def startup_progress(line: StatusLine | None = None) -> Iterator[None]:
    """The daemon's start on a terminal: model load and warm-up, then sources, until the line
    runs (its ``line_started`` event, whatever the log level)."""
    line = line or StatusLine()
    if not line.enabled:
        yield
        return
    phase: list[str | None] = ["starting: loading the model and warming it up"]

    def on_event(event: str) -> None:
        if event in STARTUP_PHASES:
            phase[0] = STARTUP_PHASES[event]

    unwatch = watch_events(on_event)
    try:
        with line, activity(line, lambda: phase[0]):
            yield
    finally:
        unwatch()
