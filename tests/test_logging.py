"""The one log setup: JSON lines by default, console rendering on a TTY, stdlib loggers
(pymodbus, apscheduler, ...) through the same renderer, each line naming its logger."""

from __future__ import annotations

import io
import json
import logging
import os
import select
from collections.abc import Iterator

import pytest

from inspector.logging import LogConfig, configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging(LogConfig(format="json"))


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_by_default_when_not_a_tty() -> None:
    stream = io.StringIO()
    configure_logging(LogConfig(), stream=stream)
    get_logger("inspector.sources").info("source_opened", source="cam0")
    (event,) = json_lines(stream)
    assert event["event"] == "source_opened" and event["source"] == "cam0"
    assert event["level"] == "info" and event["logger"] == "inspector.sources" and "timestamp" in event


def test_stdlib_loggers_go_through_the_same_renderer_and_say_who_spoke() -> None:
    stream = io.StringIO()
    configure_logging(LogConfig(format="auto", pymodbus_level="warning"), stream=stream)
    logging.getLogger("pymodbus.client").warning("connection to %s lost", "10.0.0.5:502")
    logging.getLogger("apscheduler.scheduler").info("below library_level: dropped")
    logging.getLogger("apscheduler.scheduler").error("job missed")
    events = json_lines(stream)
    assert [(e["logger"], e["event"], e["level"]) for e in events] == [
        ("pymodbus.client", "connection to 10.0.0.5:502 lost", "warning"),
        ("apscheduler.scheduler", "job missed", "error"),
    ]


def test_pymodbus_is_quiet_by_default() -> None:
    stream = io.StringIO()
    configure_logging(LogConfig(), stream=stream)
    logging.getLogger("pymodbus.logging").error("hex dump of every retry")
    assert stream.getvalue() == ""


def read_pty(fd: int, timeout: float = 5.0) -> str:
    chunks = []
    while select.select([fd], [], [], timeout)[0]:
        data = os.read(fd, 65536)
        chunks.append(data.decode())
        if b"\n" in data:
            break
        timeout = 0.5
    return "".join(chunks)


def test_console_rendering_when_stdout_is_a_tty() -> None:
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert tty.isatty()
            configure_logging(LogConfig(), stream=tty)
            get_logger("inspector.plc").warning("plc_link_down", host="10.0.0.5")
            tty.flush()
            line = read_pty(master)
    finally:
        os.close(slave)
        os.close(master)
    assert "plc_link_down" in line and "host=10.0.0.5" in line and "inspector.plc" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
