"""The one logging setup: structlog JSON lines on stdout, console rendering on a TTY.

Under systemd, each line starts with its sd-daemon priority (``<3>`` for an error) so that
``journalctl -p err`` finds errors; journald strips the prefix and stores the JSON line as it was.

Standard-library loggers (pymodbus, apscheduler, ...) are routed through the
same processors, and ``native_output_logged`` turns what native libraries (OpenCV,
FFmpeg, GStreamer) write to file descriptor 2 into ``native_log`` events, so journald
receives one JSON object per line from everything.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import select
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Literal, Protocol, TextIO

import structlog
from pydantic import Field

from inspector.section import Section

LogFormat = Literal["auto", "json", "console"]


class LogConfig(Section):
    """Log output."""

    format: LogFormat = Field("auto", description="json, console, or auto (console on a TTY, else JSON).")
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="Lowest level emitted.")
    library_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="Lowest level emitted from third-party libraries (apscheduler, opencv, ...)."
    )
    pymodbus_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "critical",
        description="Lowest level emitted by pymodbus itself. The PLC link already logs link up/down and "
        "each failed write once; pymodbus repeats them as multi-line hex dumps during every outage.",
    )


class StatusLine(Protocol):
    """A terminal line redrawn in place (a progress display) that log output erases first."""

    def clear(self) -> None: ...


_status_line: list[StatusLine] = []  # at most one: the progress shown now
_event_watchers: list[Callable[[str], None]] = []


def set_status_line(line: StatusLine | None) -> None:
    """While a progress line is on the terminal, each log line clears it before it is written."""
    _status_line[:] = [] if line is None else [line]


def watch_events(callback: Callable[[str], None]) -> Callable[[], None]:
    """Call ``callback(event)`` for every structlog event, whatever the log level (progress
    follows ``engine_loaded`` / ``line_started``); returns the function that stops it."""
    _event_watchers.append(callback)
    return lambda: _event_watchers.remove(callback)


def _tell_watchers(logger: Any, method: str, event_dict: Any) -> Any:
    for watcher in list(_event_watchers):
        watcher(str(event_dict.get("event")))
    return event_dict


# sd-daemon(3) priorities: journald strips a leading "<N>" from each line of a stream it reads
# (SyslogLevelPrefix=, on by default) and stores the line at that priority.
_JOURNAL_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)


def journal_priority(levelno: int) -> int:
    """The syslog priority journald stores for a record of this level (debug and below: 7)."""
    return next((prio for level, prio in _JOURNAL_PRIORITIES if levelno >= level), 7)


def writes_to_journal(stream: Any) -> bool:
    """True when ``stream`` is the journal stream systemd connected (``JOURNAL_STREAM`` names its
    device and inode; a child whose stdout was redirected elsewhere inherits the variable)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # StringIO, a closed stream
        return False
    return bool(expected) and expected == f"{info.st_dev}:{info.st_ino}"


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, stream: Any, journal: bool = False) -> None:
        super().__init__(stream)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journal:
            return text
        prefix = f"<{journal_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.split("\n"))  # a console traceback too

    def emit(self, record: logging.LogRecord) -> None:
        for line in list(_status_line):
            line.clear()
        super().emit(record)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        # "logger": which library said it (pymodbus, apscheduler, inspector.plc, ...)
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def configure_logging(config: LogConfig | None = None, stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger once for the whole process."""
    config = config or LogConfig()
    stream = stream or sys.stdout
    use_console = config.format == "console" or (config.format == "auto" and stream.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _tell_watchers,  # before the level filter: progress sees events the log leaves out
            structlog.stdlib.filter_by_level,
            *shared[1:],
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _LogHandler(stream, journal=writes_to_journal(stream))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(config.library_level.upper()))
    logging.getLogger("inspector").setLevel(logging.getLevelName(config.level.upper()))
    logging.getLogger("pymodbus").setLevel(logging.getLevelName(config.pymodbus_level.upper()))


def get_logger(name: str = "inspector") -> Any:
    """A structlog logger under the ``inspector`` hierarchy."""
    return structlog.get_logger(name if name.startswith("inspector") else f"inspector.{name}")


NATIVE_LOGGER = "native"
# OpenCV tags its lines "[ WARN:0@6.1]", "[ERROR:0@6.1]", ...; FFmpeg ("[tcp @ 0x...] ...") and
# others tag none: an untagged line on stderr is a warning, so nothing a library says is dropped
# at the default library_level.
_NATIVE_TAGS = {
    "FATAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "VERBOSE": logging.DEBUG,
}
_NATIVE_TAG = re.compile(r"^\[\s*(FATAL|ERROR|WARN|INFO|DEBUG|VERBOSE)\b")
_LINE_END = re.compile(rb"[\r\n]")  # FFmpeg redraws status lines with a bare carriage return
_LONGEST_LINE = 16384
_PIPE_SIZE = 1 << 20  # room for a burst while the reader waits for the GIL (F_SETPIPE_SZ, Linux)


def native_level(line: str) -> int:
    """The level of one line a native library wrote to stderr."""
    tag = _NATIVE_TAG.match(line)
    return _NATIVE_TAGS[tag[1]] if tag else logging.WARNING


def _emit_native(raw: bytes) -> None:
    line = raw.decode("utf-8", "backslashreplace").strip()
    if line:
        logging.getLogger(NATIVE_LOGGER).log(native_level(line), "native_log", extra={"line": line})


class _NativeStderr:
    """File descriptor 2 replaced by a pipe that a thread reads line by line into the log.

    Python's own ``sys.stderr`` (CLI messages, tracebacks) is re-opened on the original
    descriptor and stays plain text; a log handler that wrote to it follows it there.
    """

    def __init__(self) -> None:
        sys.stderr.flush()
        self.original = os.dup(2)
        self.read_fd, write_fd = os.pipe()
        with suppress(OSError, AttributeError):  # else the default 64 KiB
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self.python_stderr, self.replaced = self._swap_python_stderr()
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._pump, name="native-stderr", daemon=True)
        self.thread.start()

    def _swap_python_stderr(self) -> tuple[TextIO, TextIO]:
        replaced = sys.stderr
        python_stderr = open(  # noqa: SIM115 (closed in stop)
            self.original, "w", buffering=1, errors="backslashreplace", closefd=False
        )
        sys.stderr = python_stderr
        _retarget_handlers(replaced, python_stderr)
        return python_stderr, replaced

    def _pump(self) -> None:
        pending = b""
        while True:
            ready = select.select([self.read_fd], [], [], 0.1)[0]
            if not ready:
                if self.closing.is_set():
                    break  # writers gone (or a child still holds the pipe): nothing more is coming
                continue
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                break
            *lines, pending = _LINE_END.split(pending + chunk)
            if len(pending) > _LONGEST_LINE:
                lines, pending = [*lines, pending], b""
            for line in lines:
                _emit_native(line)
        _emit_native(pending)

    def stop(self) -> None:
        os.dup2(self.original, 2)  # closes the pipe's write end: the reader drains it and sees EOF
        self.closing.set()
        self.thread.join(timeout=5.0)
        sys.stderr = self.replaced
        _retarget_handlers(self.python_stderr, self.replaced)
        self.python_stderr.close()
        os.close(self.read_fd)
        os.close(self.original)


def _retarget_handlers(old: TextIO, new: TextIO) -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(new)


@contextmanager
def native_output_logged() -> Iterator[None]:
    """While inside: what native code writes to stderr is logged as ``native_log`` events
    (logger ``native``, level from OpenCV's ``[ WARN``/``[ERROR`` tag, else warning, filtered by
    ``log.library_level``), so a JSON log stays one JSON object per line."""
    try:
        capture = _NativeStderr()
    except OSError:  # no fd 2 to take over (started with stderr closed): nothing to capture
        yield
        return
    try:
        yield
    finally:
        capture.stop()
