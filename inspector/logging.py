"""The one logging setup: structlog JSON lines on stdout, console rendering on a TTY.

Standard-library loggers (pymodbus, apscheduler, ...) are routed through the
same processors, so journald receives one JSON object per line from everything.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

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
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(config.library_level.upper()))
    logging.getLogger("inspector").setLevel(logging.getLevelName(config.level.upper()))
    logging.getLogger("pymodbus").setLevel(logging.getLevelName(config.pymodbus_level.upper()))


def get_logger(name: str = "inspector") -> Any:
    """A structlog logger under the ``inspector`` hierarchy."""
    return structlog.get_logger(name if name.startswith("inspector") else f"inspector.{name}")
