"""Held-out evaluation of the demo model, in one of two modes.

Boards come from a seed never used in training or validation (3003), at the demo
camera's 640x480 with the demo line's defect rate.

Default mode: an ultralytics checkpoint (``best.pt`` before conversion). Reports mask/box
mAP50 (ultralytics val at ``--imgsz``) and board-verdict accuracy with the demo rule
(reject if any defect, ids 1..4, with score >= 0.5)::

    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py \\
        --weights /work/data/demo-train/runs/stage4/weights/best.pt --workdir /work/data/demo-eval4

``--engine``: the shipped inspector-format file (default ``inspector/models/demo-pcb-seg.pt``)
through inspector's own engine with the demo line's engine settings (``DEMO_CONFIG``: conf
0.25, the model's own imgsz 320) and verdicts from the demo rules via ``build_verdicts``;
mask mAP50 on full-resolution masks (``mask_ap.py``: COCO-style 101-point AP at IoU 0.5
per class, mean over classes). ultralytics is not imported in this mode::

    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py --engine \\
        --workdir /work/data/demo-eval-engine --count 300

Either mode writes ``metrics.json`` (``metrics-engine.json``) in the workdir.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mask_ap import MaskAP, mask_ious
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


def engine_evaluation(weights: Path, count: int, threads: int, device: str) -> dict[str, Any]:
    """The shipped file through inspector's engine and rules, as the demo line runs it."""
    from inspector.app.demo import DEMO_CONFIG
    from inspector.engine import EngineConfig, load_engine
    from inspector.messages import VerdictCode
    from inspector.rules import RulesConfig, build_verdicts

    settings = {**DEMO_CONFIG["engine"], "model": weights, "device": device, "warmup": 0}
    engine = load_engine(EngineConfig(**settings, cpu_threads=threads))
    rules = build_verdicts(RulesConfig(**DEMO_CONFIG["rules"]))
    rules.check_names(engine.names)
    source_id = DEMO_CONFIG["sources"][0]["id"]
    gen = BoardGenerator(RENDER_SIZE, HELDOUT_SEED)
    ap = MaskAP(0.5)
    tally = dict.fromkeys(("correct", "false_rejects", "missed_rejects", "planted", "same", "any"), 0)
    wrong: list[int] = []
    for index in range(count):
        image, instances = gen.render(index)
        det = engine.infer([image])[0]
        truth = bool(any(inst.is_defect for inst in instances))
        reject = rules.evaluate(det, source_id).code is not VerdictCode.PASS
        tally["correct"] += reject == truth
        tally["false_rejects"] += reject and not truth
        tally["missed_rejects"] += truth and not reject
        if reject != truth:
            wrong.append(index)
        pred_cls, scores = det.class_ids.cpu().numpy(), det.scores.cpu().numpy()
        pred_masks = det.masks.cpu().numpy()
        gt_cls = np.array([inst.class_id for inst in instances], int)
        gt_masks = np.stack([inst.mask for inst in instances] or [np.zeros(image.shape[:2], bool)])
        gt_masks = gt_masks[: len(instances)]
        ap.add(pred_cls, scores, pred_masks, gt_cls, gt_masks)
        _count_planted(tally, pred_cls, scores, pred_masks, gt_cls, gt_masks)
        if (index + 1) % 50 == 0:
            print(f"{index + 1}/{count} boards, {tally['correct']} right", file=sys.stderr, flush=True)
    per_class = ap.per_class()
    return {
        "mode": "engine",
        "weights": str(weights),
        "heldout_seed": HELDOUT_SEED,
        "frame_size": list(RENDER_SIZE),
        "engine": {"imgsz": list(engine.imgsz), "conf": engine.config.conf, "device": str(engine.device)},
        "boards": count,
        "verdict_accuracy": tally["correct"] / count,
        "verdicts_correct": tally["correct"],
        "false_rejects": tally["false_rejects"],
        "missed_rejects": tally["missed_rejects"],
        "wrong_verdict_boards": wrong,
        "mask_map50": ap.mean(),
        "mask_map50_per_class": {engine.names[c]: v for c, v in per_class.items()},
        "planted_defects": tally["planted"],
        "planted_found_same_class": tally["same"],
        "planted_found_any_defect_class": tally["any"],
    }


def _count_planted(
    tally: dict[str, int],
    pred_cls: np.ndarray,
    scores: np.ndarray,
    pred_masks: np.ndarray,
    gt_cls: np.ndarray,
    gt_masks: np.ndarray,
) -> None:
    """Planted defects found by a defect-class mask at score >= 0.5 with mask IoU >= 0.5
    (with the same class, and with any defect class)."""
    defect = np.isin(pred_cls, list(DEFECT_CLASS_IDS)) & (scores >= DEMO_SCORE)
    planted = np.isin(gt_cls, list(DEFECT_CLASS_IDS))
    ious = mask_ious(pred_masks[defect], gt_masks[planted]) >= 0.5
    same = pred_cls[defect][:, None] == gt_cls[planted][None, :]
    tally["planted"] += int(planted.sum())
    tally["any"] += int(ious.any(0).sum())
    tally["same"] += int((ious & same).any(0).sum())


def ultralytics_evaluation(weights: Path, work: Path, count: int, imgsz: int, threads: int) -> dict[str, Any]:
    """An ultralytics checkpoint: ultralytics val on the held-out boards written to disk."""
    offline_ultralytics(work / "yolo-config")
    data_root = work / "heldout"
    if not (data_root / "images").exists() or len(list((data_root / "images").glob("*.png"))) != count:
        write_images(BoardGenerator(RENDER_SIZE, HELDOUT_SEED), data_root, range(count))
    write_data_yaml(work / "heldout.yaml", data_root)

    import torch
    from ultralytics import YOLO

    model = YOLO(str(weights))
    torch.set_num_threads(threads)
    val = model.val(data=str(work / "heldout.yaml"), imgsz=imgsz, batch=8, device="cpu", plots=False)
    torch.set_num_threads(threads)
    images = sorted((data_root / "images").glob("*.png"))
    metas = [json.loads((data_root / "meta" / f"{img.stem}.json").read_text()) for img in images]
    return {
        "mode": "ultralytics",
        "weights": str(weights),
        "heldout_seed": HELDOUT_SEED,
        "imgsz": imgsz,
        "mask_map50": float(val.seg.map50),
        "mask_map50_95": float(val.seg.map),
        "box_map50": float(val.box.map50),
        "mask_map50_per_class": {
            model.names[int(c)]: float(v) for c, v in zip(val.ap_class_index, val.seg.ap50, strict=True)
        },
        **board_verdicts(model, images, imgsz, metas),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", action="store_true", help="the inspector-format file via inspector's engine")
    p.add_argument("--weights", type=Path, help="checkpoint (--engine: default the shipped demo model)")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--imgsz", type=int, default=320, help="ultralytics mode only (--engine: the demo's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="--engine only: cpu, cuda, ...")
    args = p.parse_args(argv)

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if args.engine:
        from inspector.engine import DEMO_MODEL

        weights = (args.weights or DEMO_MODEL).resolve()
        metrics = engine_evaluation(weights, args.count, args.threads, args.device)
    elif args.weights is None:
        p.error("--weights is required without --engine")
    else:
        metrics = ultralytics_evaluation(args.weights, work, args.count, args.imgsz, args.threads)
    metrics["date_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    metrics["wall_s"] = round(time.monotonic() - t0)
    out = work / ("metrics-engine.json" if args.engine else "metrics.json")
    out.write_text(json.dumps(metrics, indent=1))
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
