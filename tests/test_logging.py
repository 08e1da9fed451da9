"""The one log setup: JSON lines by default, console rendering on a TTY, stdlib loggers
(pymodbus, apscheduler, ...) through the same renderer, each line naming its logger."""

from __future__ import annotations

import io
import json
import logging
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.logging import LogConfig, configure_logging, get_logger, native_level, native_output_logged
from tests.deploy.test_systemd_deploy import require_tool

ROOT = Path(__file__).resolve().parents[1]


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


NATIVE_SCRIPT = """
import os, sys, threading
import cv2
from inspector.logging import LogConfig, configure_logging, native_output_logged
configure_logging(LogConfig(format="json"), stream=getattr(sys, sys.argv[1]))
before = os.fstat(2).st_ino
with native_output_logged():
    # FFmpeg and OpenCV both complain on stderr about a refused RTSP connection
    cv2.VideoCapture("rtsp://127.0.0.1:1/x", cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 1000])
    os.write(2, b"[ERROR:0@1.0] tagged error\\n[ INFO:0@1.1] tagged info\\nlast words without newline")
    print("python's own stderr", file=sys.stderr)
    get = __import__("inspector.logging", fromlist=["get_logger"]).get_logger
    get("inspector.test").warning("structlog_event")
assert os.fstat(2).st_ino == before and sys.stderr is sys.__stderr__
print("threads", threading.active_count(), file=sys.stderr)
"""


@pytest.mark.parametrize("log_stream", ["stdout", "stderr"])
def test_native_stderr_becomes_json_log_lines(log_stream: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", NATIVE_SCRIPT, log_stream],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    log_text, other = (done.stdout, done.stderr) if log_stream == "stdout" else (done.stderr, done.stdout)
    plain = ["python's own stderr", "threads 1"]  # Python's own writes stay plain text on stderr
    lines = [line for line in log_text.splitlines() if line not in plain]
    events = [json.loads(line) for line in lines]  # every other line is a JSON object
    native = [(e["level"], e["line"]) for e in events if e["event"] == "native_log"]
    assert all(e["logger"] == "native" for e in events if e["event"] == "native_log")
    assert any(level == "warning" and line.startswith("[ WARN:") for level, line in native), native
    assert any("Connection refused" in line for _, line in native), native  # FFmpeg's own line
    assert ("error", "[ERROR:0@1.0] tagged error") in native
    assert ("warning", "last words without newline") in native
    assert not any("tagged info" in line for _, line in native)  # below library_level (warning)
    assert [e["event"] for e in events if e["logger"] == "inspector.test"] == ["structlog_event"]
    assert other.splitlines() == ([] if log_stream == "stderr" else plain)
    if log_stream == "stderr":
        assert [line for line in done.stderr.splitlines() if line in plain] == plain


def test_native_capture_restores_stderr_and_leaves_no_thread() -> None:
    before = (os.fstat(2).st_ino, sys.stderr)
    stream = io.StringIO()
    configure_logging(LogConfig(format="json"), stream=stream)
    with native_output_logged():
        os.write(2, b"[ WARN:0@0.1] from C\n")
    assert (os.fstat(2).st_ino, sys.stderr) == before
    assert [(e["event"], e["line"]) for e in json_lines(stream)] == [("native_log", "[ WARN:0@0.1] from C")]


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("[ WARN:0@6.1] global cap_ffmpeg_impl.hpp:453 Stream timeout", logging.WARNING),
        ("[ERROR:0@0.1] global persistence.cpp:505 open Can't open file", logging.ERROR),
        ("[ INFO:0@0.0] global registry.impl.hpp:114 VideoBackendRegistry", logging.INFO),
        ("[DEBUG:0@0.0] anything", logging.DEBUG),
        ("[rtsp @ 0x55d0c8] method DESCRIBE failed: 404 Not Found", logging.WARNING),
        ("(python:1): GStreamer-CRITICAL **: assertion failed", logging.WARNING),
    ],
)
def test_native_level_from_the_opencv_tag(line: str, level: int) -> None:
    assert native_level(line) == level


def test_journal_recipes_read_native_lines_and_plain_ones() -> None:
    """The deploy/README recipe and ``inspector-logs`` on what journald would hold: the JSON lines,
    Python's own plain stderr lines, and a plain OpenCV line from a daemon before native_log."""
    require_tool("jq")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", NATIVE_SCRIPT, "stdout"], capture_output=True, text=True, timeout=120, env=env
    )
    journal = done.stdout + done.stderr + "[ WARN:0@6.1] global cap_ffmpeg_impl.hpp:453 Stream timeout\n"
    recipe = ["jq", "-cR", 'fromjson? // {event: "text", line: .}']
    read = subprocess.run(recipe, input=journal, capture_output=True, text=True, timeout=30)
    assert read.returncode == 0, read.stderr
    kept = [json.loads(line) for line in read.stdout.splitlines()]
    assert len(kept) == len(journal.splitlines())  # no line lost, jq never stopped
    assert {e["event"] for e in kept} >= {"native_log", "structlog_event", "text"}
    logs = ROOT / "deploy" / "inspector-logs"
    native = subprocess.run(
        ["bash", str(logs), "native", "-"], input=journal, capture_output=True, text=True, timeout=30
    )
    assert native.returncode == 0, native.stderr
    assert "warning [ERROR:0@1.0] tagged error" not in native.stdout  # its level is error
    assert " error [ERROR:0@1.0] tagged error" in native.stdout
    assert native.stdout.rstrip().endswith("Stream timeout")  # the plain line is shown as it is
    errors = subprocess.run(
        ["bash", str(logs), "errors", "-"], input=journal, capture_output=True, text=True, timeout=30
    )
    assert "native_log" in errors.stdout and "structlog_event" in errors.stdout
    assert "[ WARN:0@6.1] global cap_ffmpeg_impl.hpp:453 Stream timeout" in errors.stdout


JOURNAL_SCRIPT = """
import logging
from inspector.logging import LogConfig, configure_logging, get_logger
configure_logging(LogConfig(format="json", level="debug"))
log = get_logger("inspector.journal")
log.debug("d"); log.info("i"); log.warning("w"); log.error("e"); log.critical("c")
logging.getLogger("pymodbus").critical("from a library")
"""


def run_logging_child(journal_stream: str | None) -> list[str]:
    """Run JOURNAL_SCRIPT with stdout on a pipe; ``"pipe"`` sets JOURNAL_STREAM to that pipe's
    device:inode as systemd does for a journal stream, another value names some other stream."""
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"} | {"PYTHONPATH": str(ROOT)}
    read_fd, write_fd = os.pipe()
    info = os.fstat(write_fd)
    if journal_stream is not None:
        env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}" if journal_stream == "pipe" else journal_stream
    try:
        done = subprocess.run(
            [sys.executable, "-c", JOURNAL_SCRIPT],
            stdout=write_fd,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        lines = reader.read().splitlines()
    assert done.returncode == 0, done.stderr
    return lines


def test_journal_stream_lines_carry_their_priority_and_stay_json() -> None:
    lines = run_logging_child("pipe")
    prefixes = [line[: line.index(">") + 1] for line in lines]
    assert prefixes == ["<7>", "<6>", "<4>", "<3>", "<2>", "<2>"]
    events = [json.loads(line[3:]) for line in lines]  # what journald stores once it strips "<N>"
    assert [e["event"] for e in events] == ["d", "i", "w", "e", "c", "from a library"]
    assert [e["level"] for e in events][:5] == ["debug", "info", "warning", "error", "critical"]


@pytest.mark.parametrize("journal_stream", [None, "1:2"])
def test_no_priority_prefix_off_the_journal(journal_stream: str | None) -> None:
    lines = run_logging_child(journal_stream)
    assert len(lines) == 6 and all(json.loads(line)["event"] for line in lines)
