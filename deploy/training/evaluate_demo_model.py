"""Held-out evaluation of a demo-model checkpoint (ultralytics ``.pt``).

Boards come from a seed never used in training or validation, at the demo camera's
640x480 with the demo line's defect rate. Reports mask/box mAP50 (ultralytics val) and
board-verdict accuracy with the demo rule: reject if any defect (ids 1..4) with score
>= 0.5. Writes ``metrics.json`` in the workdir.

    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py \\
        --weights runs/train/weights/best.pt --workdir /work/data/demo-eval
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_demo_model import RENDER_SIZE, offline_ultralytics

from inspector.synth import DEFECT_CLASS_IDS, BoardGenerator
from inspector.synth.export import write_data_yaml, write_images

HELDOUT_SEED = 3003  # never used by the training recipe
DEMO_SCORE = 0.5  # the demo rule's defect score threshold


def board_verdicts(model: Any, images: list[Path], imgsz: int, metas: list[dict]) -> dict[str, Any]:
    """Demo-rule verdicts vs. ground truth, plus planted-defect recall (any defect class
    predicted at >= 0.5 whose mask overlaps the planted one)."""
    correct = false_reject = missed_reject = 0
    planted = found = 0
    for path, meta in zip(images, metas, strict=True):
        res = model.predict(str(path), imgsz=imgsz, conf=0.25, verbose=False)[0]
        cls = res.boxes.cls.numpy().astype(int) if res.boxes is not None else np.zeros(0, int)
        conf = res.boxes.conf.numpy() if res.boxes is not None else np.zeros(0)
        defect = np.isin(cls, list(DEFECT_CLASS_IDS)) & (conf >= DEMO_SCORE)
        reject = bool(defect.any())
        correct += reject == meta["reject"]
        false_reject += reject and not meta["reject"]
        missed_reject += meta["reject"] and not reject
        boxes = res.boxes.xyxy.numpy()[defect] if res.boxes is not None else np.zeros((0, 4))
        for inst in meta["instances"]:
            if inst["class_id"] in DEFECT_CLASS_IDS:
                planted += 1
                found += any(_box_iou(inst["bbox"], b) >= 0.3 for b in boxes)
    n = len(images)
    return {
        "boards": n,
        "verdict_accuracy": correct / n,
        "false_rejects": false_reject,
        "missed_rejects": missed_reject,
        "planted_defects": planted,
        "planted_defect_recall": found / max(planted, 1),
    }


def _box_iou(a: list[float], b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    work = args.workdir.resolve()
    offline_ultralytics(work / "yolo-config")
    data_root = work / "heldout"
    if not (data_root / "images").exists() or len(list((data_root / "images").glob("*.png"))) != args.count:
        write_images(BoardGenerator(RENDER_SIZE, HELDOUT_SEED), data_root, range(args.count))
    write_data_yaml(work / "heldout.yaml", data_root)

    import torch
    from ultralytics import YOLO

    model = YOLO(str(args.weights))
    torch.set_num_threads(args.threads)
    val = model.val(data=str(work / "heldout.yaml"), imgsz=args.imgsz, batch=8, device="cpu", plots=False)
    torch.set_num_threads(args.threads)
    images = sorted((data_root / "images").glob("*.png"))
    metas = [json.loads((data_root / "meta" / f"{img.stem}.json").read_text()) for img in images]
    metrics = {
        "weights": str(args.weights),
        "heldout_seed": HELDOUT_SEED,
        "imgsz": args.imgsz,
        "mask_map50": float(val.seg.map50),
        "mask_map50_95": float(val.seg.map),
        "box_map50": float(val.box.map50),
        "mask_map50_per_class": {
            model.names[int(c)]: float(v) for c, v in zip(val.ap_class_index, val.seg.ap50, strict=True)
        },
        **board_verdicts(model, images, args.imgsz, metas),
    }
    (work / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
