"""``inspector demo -v`` writes its log events in the configured format (``log.format``), not a
forced console rendering: JSON lines when asked for JSON, console text when asked for console."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli.demo import demo_log
from inspector.logging import LogConfig

ROOT = Path(__file__).resolve().parents[2]


def demo(model: Path, log_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECTOR_LOG__FORMAT": log_format}
    args = ["demo", "-v", "--frames", "2", "--no-plc", "--size", "160x120", "--device", "cpu"]
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args, "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_demo_verbose_honours_json_format(tiny_seg_checkpoint: Path) -> None:
    done = demo(tiny_seg_checkpoint, "json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert sum(e["event"] == "inspection" for e in events) == 2
    assert "inspector demo" in done.stdout  # the summary stays on stdout


@pytest.mark.parametrize(
    ("configured", "verbose", "expected"),
    [
        (LogConfig(format="console"), True, ("console", "info")),
        (LogConfig(format="json"), True, ("json", "info")),
        (LogConfig(format="json", level="debug"), True, ("json", "debug")),
        (LogConfig(), False, ("auto", "warning")),
        (LogConfig(level="error"), False, ("auto", "error")),
    ],
)
def test_demo_log_keeps_the_format_and_sets_the_level(
    configured: LogConfig, verbose: bool, expected: tuple[str, str]
) -> None:
    chosen = demo_log(configured, verbose)
    assert (chosen.format, chosen.level) == expected
