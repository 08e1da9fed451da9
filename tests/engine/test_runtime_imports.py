"""At run time the engine never imports ultralytics (AGPL, heavy) or torchvision: a fresh process
loads each model format, runs inference, and then looks at what got imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inspector.engine.loaders import read_content, save_own

SCRIPT = """
import json, sys
import numpy as np
from inspector.engine import EngineConfig, load_engine

frames = [np.full((120, 160, 3), 90, np.uint8), np.zeros((90, 200, 3), np.uint8)]
for model in sys.argv[1:]:
    engine = load_engine(EngineConfig(model=model, device="cpu", warmup=1, conf=0.01))
    detections = engine.infer(frames)
    assert [d.image_shape for d in detections] == [(120, 160), (90, 200)]
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("ultralytics", "torchvision"))))
"""


def test_engine_runs_without_importing_ultralytics_or_torchvision(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    own = tmp_path / "line3.pt"
    save_own(read_content(tiny_seg_checkpoint)[0], own, source="test")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_seg_checkpoint), str(own)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == [], f"imported at run time: {imported}"
