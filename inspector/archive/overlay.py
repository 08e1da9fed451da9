"""The mask-overlay image and the JSON record of one archived part."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import cv2
import numpy as np

from inspector.messages import Detections, FrameMsg

# BGR colours by class id (cycled); class 0 (e.g. good_joint) green, defects warm colours.
_PALETTE = (
    (80, 200, 80),
    (40, 40, 230),
    (0, 160, 255),
    (230, 80, 200),
    (0, 230, 230),
    (230, 160, 40),
    (160, 80, 230),
)


def colour(class_id: int) -> tuple[int, int, int]:
    return _PALETTE[class_id % len(_PALETTE)]


def overlay_image(image: np.ndarray, detections: Detections | None, alpha: float) -> np.ndarray:
    """The image with each instance mask tinted, its box drawn and labelled (class, score)."""
    out = image.copy()
    if detections is None or len(detections) == 0:
        return out
    masks = detections.masks.detach().to("cpu").numpy()
    boxes = detections.boxes.detach().to("cpu").numpy()
    scores = detections.scores.detach().to("cpu").numpy()
    class_ids = detections.class_ids.detach().to("cpu").numpy()
    for mask, box, score, cid in zip(masks, boxes, scores, class_ids, strict=False):
        bgr = colour(int(cid))
        if mask.shape == out.shape[:2] and mask.any():
            tint = np.array(bgr, dtype=np.float32)
            region = out[mask].astype(np.float32)
            out[mask] = (region * (1 - alpha) + tint * alpha).astype(np.uint8)
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), bgr, 1)
        name = detections.names[int(cid)] if 0 <= int(cid) < len(detections.names) else str(int(cid))
        cv2.putText(
            out,
            f"{name} {float(score):.2f}",
            (x1, max(10, y1 - 3)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            bgr,
            1,
            cv2.LINE_AA,
        )
    return out


def _instances(detections: Detections | None) -> list[dict[str, Any]]:
    if detections is None or len(detections) == 0:
        return []
    areas = detections.masks.flatten(1).sum(1).to("cpu").tolist()
    boxes = detections.boxes.to("cpu").tolist()
    scores = detections.scores.to("cpu").tolist()
    class_ids = detections.class_ids.to("cpu").tolist()
    names = detections.names
    return [
        {
            "class_id": int(cid),
            "name": names[int(cid)] if 0 <= int(cid) < len(names) else str(int(cid)),
            "score": round(float(score), 4),
            "box": [round(float(v), 1) for v in box],
            "mask_area": int(area),
        }
        for cid, score, box, area in zip(class_ids, scores, boxes, areas, strict=False)
    ]


def record_json(msg: FrameMsg, files: dict[str, str]) -> dict[str, Any]:
    """Everything an operator needs to judge the reject later, without the images."""
    verdict = msg.verdict
    return {
        "archived_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seq": msg.seq,
        "source_id": msg.source_id,
        "part_id": msg.part_id,
        "image_size": [int(msg.image.shape[1]), int(msg.image.shape[0])],
        "verdict": verdict.code.name if verdict else None,
        "failsafe": bool(verdict.failsafe) if verdict else None,
        "reasons": [asdict(r) for r in verdict.reasons] if verdict else [],
        "measurements": list(verdict.measurements) if verdict else [],
        "instances": _instances(msg.detections),
        "timings_ms": {stage: round(ms, 3) for stage, ms in msg.timings_ms},
        "files": files,
    }
