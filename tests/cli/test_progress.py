"""Long work shows progress on a terminal's stderr (synth boards, model load and warm-up, the
daemon's start) and nothing anywhere else: not into a pipe, a file or the JSON log."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from inspector.cli.progress import CLEAR, Counter, StatusLine, activity, startup_progress
from inspector.logging import LogConfig, configure_logging, get_logger
from tests.support import wait_until
from tests.support.terminal import ROOT, run_on_terminal


def test_synth_counts_boards_on_a_terminal(tmp_path: Path) -> None:
    code, shown = run_on_terminal(["synth", "--out", str(tmp_path / "t"), "--count", "12", "--size", "64x64"])
    assert code == 0, shown
    assert f"{CLEAR}writing boards 12/12 (100%)" in shown
    assert shown.rstrip().endswith(f"wrote 12 boards (64x64, seed 0) to {tmp_path / 't'}")


def test_synth_into_a_pipe_shows_no_progress(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "synth",
            "--out",
            str(tmp_path),
            "--count",
            "3",
            "--size",
            "64x64",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"wrote 3 boards (64x64, seed 0) to {tmp_path}\n"


def test_status_line_writes_only_when_enabled() -> None:
    quiet, shown = io.StringIO(), io.StringIO()
    for stream, enabled in ((quiet, None), (shown, True)):  # a StringIO is no terminal
        line = StatusLine(stream, enabled=enabled)
        counter = Counter(line, "boards", 4)
        counter.advance()
        counter.advance(3)
        line.clear()
    assert quiet.getvalue() == ""
    assert shown.getvalue().startswith(f"{CLEAR}boards 1/4 (25%) 0s")
    assert shown.getvalue().endswith(f"{CLEAR}boards 4/4 (100%) 0s{CLEAR}")


def test_activity_ticks_and_its_thread_ends() -> None:
    stream = io.StringIO()
    line = StatusLine(stream, enabled=True)
    with activity(line, "loading the model"):
        wait_until(lambda: "loading the model 0s" in stream.getvalue(), timeout=10)
    assert stream.getvalue().endswith(CLEAR)  # erased when done; the autouse fixture checks the thread


def test_daemon_start_phases_follow_events_the_log_level_hides() -> None:
    log_stream, terminal = io.StringIO(), io.StringIO()
    configure_logging(LogConfig(format="json", level="warning"), stream=log_stream)
    log = get_logger("inspector.test")
    try:
        with startup_progress(StatusLine(terminal, enabled=True)):
            wait_until(lambda: "loading the model and warming it up" in terminal.getvalue(), timeout=10)
            log.info("engine_loaded")  # below the log level: not written, still seen
            wait_until(lambda: "opening the sources" in terminal.getvalue(), timeout=10)
            log.info("line_started")
            wait_until(lambda: terminal.getvalue().endswith(CLEAR), timeout=10)
            log.warning("first_warning")
    finally:
        configure_logging(LogConfig(format="json"))
    assert log_stream.getvalue().count("\n") == 1 and "first_warning" in log_stream.getvalue()
    assert "\r" not in log_stream.getvalue()


def test_a_log_line_erases_the_status_line_first() -> None:
    shared = io.StringIO()  # the terminal that both the log and the progress write to
    configure_logging(LogConfig(format="json"), stream=shared)
    try:
        with StatusLine(shared, enabled=True) as line:
            line.show("writing boards 1/9")
            get_logger("inspector.test").warning("in_between")
    finally:
        configure_logging(LogConfig(format="json"))
    before, after = shared.getvalue().split('{"event": "in_between"', 1)
    assert before == f"{CLEAR}writing boards 1/9{CLEAR}" and after.endswith("}\n")


def test_run_on_a_terminal_shows_its_start_then_console_logs(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    config = tmp_path / "line.yaml"
    config.write_text(
        "sources:\n  - {kind: synthetic, id: cam0, width: 160, height: 120}\n"
        f"engine: {{model: '{tiny_seg_checkpoint}', device: cpu}}\n"
        "runtime: {max_frames: 2}\nplc: {role: 'off', pulses: {late_ms: 10000}}\n"
    )
    code, shown = run_on_terminal(["run", "--config", str(config)])
    assert code == 0, shown
    assert f"{CLEAR}starting: loading the model and warming it up" in shown
    assert "line_started" in shown and '{"event"' not in shown  # console rendering on a TTY
