"""The demo line: synthetic PCB camera, the shipped demo model, demo rules, PLC simulator on loopback.

``DEMO_CONFIG`` is the embedded default that ``config/demo.yaml`` mirrors.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from inspector.logging import get_logger

log = get_logger("inspector.demo")

DEMO_CLASSES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")
DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo-pcb-seg.pt"
STAND_IN_NOTE = (
    "STAND-IN MODEL: the shipped demo model is not installed, so this demo runs a yolov8n-seg with RANDOM "
    "weights. Every stage runs for real, but its verdicts mean nothing."
)

DEMO_CONFIG: dict[str, Any] = {
    "sources": [{"kind": "synthetic", "id": "pcb0", "scene": "pcb", "width": 640, "height": 480, "seed": 0}],
    "preprocess": [],
    "engine": {"model": None, "device": "auto", "conf": 0.25},
    "rules": {
        "rules": {
            "no_defects": {
                "kind": "presence",
                "classes": list(DEMO_CLASSES[1:]),
                "min_score": 0.5,
                "code": 10,
                "note": "reject a board with any solder defect",
            }
        }
    },
    # No physical reject gate in the demo, and a CPU-only PC can take ~1 s per board end to end:
    # keep pulses valid for 10 s rather than report most of them late.
    "plc": {
        "role": "client",
        "mode": "free_run",
        "host": "127.0.0.1",
        "port": 5020,
        "pulses": {"late_ms": 10000},
    },
    "runtime": {
        "frames_queue": {"size": 1, "overflow": "block"},
        "preprocessed_queue": {"size": 1, "overflow": "block"},
        "stats_interval_s": 10.0,
    },
}


def stand_in_model(folder: Path | None = None) -> Path:
    """A clearly labelled stand-in: yolov8n-seg with seeded random weights and the demo classes,
    written in the project's safe format (no download, no training)."""
    import torch

    from inspector.engine.checkpoint import CheckpointContent
    from inspector.engine.loaders import save_own
    from inspector.engine.model import SegmentationModel

    folder = folder or Path(tempfile.gettempdir()) / "inspector-demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "STAND-IN-random-yolov8n-seg.pt"
    if path.exists():
        return path
    torch.manual_seed(0)
    model = SegmentationModel(nc=len(DEMO_CLASSES), scale="n").eval()
    # Untrained class scores sit near 0.5 everywhere (hundreds of boxes per frame); biases well below
    # zero keep the stand-in from flooding the line with meaningless instances.
    with torch.no_grad():
        for branch in model.head.cv3:
            branch[-1].bias.uniform_(-6.0, -3.0)  # type: ignore[index]
    content = CheckpointContent(
        state_dict=model.state_dict(),
        arch="yolov8-seg",
        end2end=False,
        scale="n",
        nc=len(DEMO_CLASSES),
        names=DEMO_CLASSES,
        stride=32,
        imgsz=(320, 320),
        fused=False,
        extra={"stand_in": "random weights, not a trained model"},
        bn_eps={},
    )
    tmp = path.with_suffix(".tmp")
    save_own(content, tmp, source="inspector demo stand-in (random init)")
    tmp.replace(path)
    return path


def demo_model(explicit: Path | None) -> tuple[Path, bool]:
    """The model the demo runs and whether it is the stand-in."""
    if explicit is not None:
        return explicit, False
    if DEMO_MODEL.exists():
        return DEMO_MODEL, False
    return stand_in_model(), True
