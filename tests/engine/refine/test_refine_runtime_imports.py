"""At run time refinement imports no ultralytics, torchvision, onnx (the export extra) or
segment-anything: a fresh process loads the demo engine with ``engine.refine``, runs a frame and
looks at what got imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPT = """
import json, sys
from pathlib import Path
import numpy as np
from inspector.engine import EngineConfig, load_engine
from inspector.engine.refine import RefineConfig, with_refinement

for backend in ("onnxruntime", "openvino"):
    config = RefineConfig(model=Path(sys.argv[1]), classes=["good_joint"], max_parts=1, backend=backend)
    engine = with_refinement(load_engine(EngineConfig(device="cpu", warmup=0)), config)
    (found,) = engine.infer([np.full((120, 160, 3), 90, np.uint8)])
    assert found.image_shape == (120, 160)
banned = ("ultralytics", "torchvision", "onnx", "segment_anything", "onnxscript")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in banned)))
"""


def test_refinement_runs_without_export_time_packages(
    sam_models: Callable[[str], tuple[Any, Path, Path]],
) -> None:
    pair = sam_models("sam-mobile")[2]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(pair)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == [], f"imported at run time: {imported}"
