"""``inspector run`` runs the demo line on ONNX Runtime: the shipped demo model exported to ONNX
with a rectangular input that fits the camera's frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from inspector.cli import main
from inspector.engine.metadata import DEMO_MODEL

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 4


def test_demo_line_runs_on_onnxruntime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "demo.onnx"
    args = ["model", "export", str(DEMO_MODEL), "--format", "onnx", "-o", str(model), "--imgsz", "320"]
    assert main([*args, "--frame", "320x240"]) == 0, capsys.readouterr().err
    assert "256x320" in capsys.readouterr().out  # 240 rows padded to a stride multiple, as rect predict

    line = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    line["sources"][0].update(width=320, height=240)
    line["engine"].update(model=str(model), device="cpu")
    line["plc"]["role"] = "off"
    line["runtime"].update(max_frames=FRAMES, log_inspections=True)
    line["log"] = {"format": "json"}
    config = tmp_path / "line.yaml"
    config.write_text(yaml.safe_dump(line))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.startswith("{")]
    (loaded,) = [e for e in events if e["event"] == "engine_loaded"]
    assert (loaded["backend"], loaded["format"], loaded["imgsz"]) == ("onnxruntime", "onnx", [256, 320])
    inspections = [e for e in events if e["event"] == "inspection"]
    assert len(inspections) == FRAMES
    assert not any(e["failsafe"] for e in inspections)
    assert all(sum(e["instances"].values()) > 0 for e in inspections)  # the demo model sees the joints
