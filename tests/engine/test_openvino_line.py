"""The daemon runs a line on the OpenVINO backend: ``inspector demo`` on an IR (auto picks
OpenVINO) and ``inspector run`` with ``engine.openvino`` settings, bounded by max_frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inspector.engine.export.openvino import write_openvino
from inspector.engine.export.registry import ExportRequest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def line_ir(tiny_seg_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ov-line") / "line.xml"
    write_openvino(ExportRequest(tiny_seg_checkpoint, out, (160, 160), None, 1, False, None, None))
    return out


def inspector(*args: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECTOR_LOG__FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=240, env=env
    )
    lines = (done.stdout + done.stderr).splitlines()
    return done, [json.loads(line) for line in lines if line.startswith("{")]


def test_the_demo_line_runs_on_an_openvino_ir(line_ir: Path) -> None:
    args = ["demo", "-v", "--frames", "3", "--no-plc", "--size", "160x120", "--device", "cpu"]
    done, events = inspector(*args, "--model", str(line_ir))
    assert done.returncode == 0, done.stderr[-2000:]
    (loaded,) = [e for e in events if e["event"] == "engine_loaded"]
    assert loaded["backend"] == "openvino" and loaded["backend_reason"].startswith("auto")
    assert sum(e["event"] == "inspection" for e in events) == 3


def test_run_uses_the_configured_openvino_settings(line_ir: Path, tmp_path: Path) -> None:
    config = tmp_path / "line.yaml"
    config.write_text(
        "sources:\n  - {kind: synthetic, id: cam0, width: 160, height: 120}\n"
        f"engine: {{model: '{line_ir}', device: cpu, backend: openvino,\n"
        "         openvino: {precision: f32, threads: 1, streams: 1}}\n"
        "runtime: {max_frames: 3}\nplc: {role: 'off', pulses: {late_ms: 10000}}\nlog: {format: json}\n"
    )
    done, events = inspector("run", "--config", str(config))
    assert done.returncode == 0, done.stderr[-2000:]
    (compiled,) = [e for e in events if e["event"] == "openvino_compiled"]
    assert (compiled["precision"], compiled["threads"], compiled["streams"]) == ("f32", 1, 1)
    assert "float32" in compiled["inference_precision_hint"]
    assert any(e["event"] == "line_started" for e in events)


def test_loading_openvino_sends_no_telemetry() -> None:
    # In a fresh process, as the daemon: OpenVINO is imported through the backend's helper.
    code = (
        "import threading, sys\n"
        "from inspector.engine.backends.openvino_model import import_openvino\n"
        "import_openvino().Core().available_devices\n"
        "import openvino.tools.ovc.telemetry_utils as t\n"
        "print(t.tm.__name__, [x.name for x in threading.enumerate()])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "openvino.tools.ovc.telemetry_stub ['MainThread']"
