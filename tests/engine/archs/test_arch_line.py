"""Each non-YOLO family through the daemon's own path (``inspector run``: config, engine loader,
rules, line), and at run time none of torchvision, transformers or ultralytics is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.archs.conftest import Exported

pytestmark = pytest.mark.timeout(1800)  # tests that build and export a model first (session fixture)

ROOT = Path(__file__).resolve().parents[3]

RUNTIME_SCRIPT = """
import json, sys
import numpy as np
from inspector.engine import EngineConfig, load_engine

for model in sys.argv[1:]:
    engine = load_engine(EngineConfig(model=model, device="cpu", warmup=1, conf=0.2))
    (det,) = engine.infer([np.full((120, 160, 3), 90, np.uint8)])
    assert det.image_shape == (120, 160)
heavy = ("torchvision", "transformers", "ultralytics", "safetensors", "timm")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECTOR_LOG__FORMAT": "json"}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def test_running_an_export_imports_no_export_time_package(
    maskrcnn_export: Callable[[bool, str], Exported], segformer_export: Exported, detr_export: Exported
) -> None:
    models = [str(maskrcnn_export(False, "onnx").path), str(segformer_export.path), str(detr_export.path)]
    done = run([sys.executable, "-c", RUNTIME_SCRIPT, *models])
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def line_config(tmp_path: Path, model: Path, backend: str, rules: str) -> Path:
    config = tmp_path / "line.yaml"
    config.write_text(
        "sources:\n  - {kind: synthetic, id: cam0, width: 160, height: 120}\n"
        f"engine: {{model: '{model}', device: cpu, backend: {backend}, conf: 0.2, warmup: 1}}\n"
        f"rules:\n  rules:\n{rules}"
        "runtime: {max_frames: 2}\nplc: {role: 'off', pulses: {late_ms: 60000}}\nlog: {format: json}\n"
    )
    return config


PRESENCE = "    scratch: {kind: presence, code: 1, classes: [scratch], min_score: 0.5}\n"
SHARE = "    stained: {kind: area_share, code: 2, classes: [stain], share_pct: {gt: 40}}\n"


@pytest.mark.parametrize(
    ("family", "backend", "arch"),
    [
        ("maskrcnn", "onnxruntime", "maskrcnn-r50-fpn"),
        ("maskrcnn-v2", "openvino", "maskrcnn-r50-fpn-v2"),
        ("segformer", "openvino", "segformer"),
        ("detr", "onnxruntime", "detr-panoptic"),
    ],
)
def test_a_line_runs_each_family_end_to_end(
    family: str,
    backend: str,
    arch: str,
    tmp_path: Path,
    maskrcnn_export: Callable[[bool, str], Exported],
    segformer_export: Exported,
    detr_export: Exported,
) -> None:
    model = {
        "maskrcnn": lambda: maskrcnn_export(False, "onnx"),
        "maskrcnn-v2": lambda: maskrcnn_export(True, "onnx"),
        "segformer": lambda: segformer_export,
        "detr": lambda: detr_export,
    }[family]().path
    done = run(
        [
            sys.executable,
            "-m",
            "inspector",
            "run",
            "--config",
            str(line_config(tmp_path, model, backend, PRESENCE + SHARE)),
        ]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    events: list[dict[str, Any]] = [
        json.loads(x) for x in (done.stdout + done.stderr).splitlines() if x.startswith("{")
    ]
    (loaded,) = [e for e in events if e["event"] == "engine_loaded"]
    assert (loaded["arch"], loaded["backend"]) == (arch, backend)
    inspections = [e for e in events if e["event"] == "inspection"]
    assert len(inspections) == 2
