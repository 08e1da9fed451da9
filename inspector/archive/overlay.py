"""The JSON record of one archived part, and the helpers the overlay drawing shares."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

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


def box_window(box: np.ndarray, height: int, width: int) -> tuple[slice, slice]:
    """Rows and columns of a box grown by one pixel, clamped to the image.

    The engine crops masks to their boxes, so per-instance work inside this window
    sees the whole mask without touching the full frame (12 full-frame masks cost ~10x).
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    r0, r1 = max(0, int(y1) - 1), min(height, int(np.ceil(y2)) + 1)
    c0, c1 = max(0, int(x1) - 1), min(width, int(np.ceil(x2)) + 1)
    return slice(r0, max(r0, r1)), slice(c0, max(c0, c1))


def _instances(detections: Detections | None) -> list[dict[str, Any]]:
    if detections is None or len(detections) == 0:
        return []
    height, width = detections.image_shape
    masks = detections.masks.detach().to("cpu")
    boxes = detections.boxes.detach().to("cpu").numpy()
    scores = detections.scores.to("cpu").tolist()
    class_ids = detections.class_ids.to("cpu").tolist()
    names = detections.names
    out = []
    for i, (cid, score, box) in enumerate(zip(class_ids, scores, boxes, strict=False)):
        rows, cols = box_window(box, height, width)
        out.append(
            {
                "class_id": int(cid),
                "name": names[int(cid)] if 0 <= int(cid) < len(names) else str(int(cid)),
                "score": round(float(score), 4),
                "box": [round(float(v), 1) for v in box],
                "mask_area": int(masks[i, rows, cols].sum()),  # masks are cropped to their box
            }
        )
    return out


def record_json(msg: FrameMsg, files: dict[str, str]) -> dict[str, Any]:
    """Everything an operator needs to judge the reject later, without the images."""
    verdict = msg.verdict
    return {
        "archived_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seq": msg.seq,
        "source_id": msg.source_id,
        "part_id": msg.part_id,
        **msg.device_fields(),
        "image_size": [int(msg.image.shape[1]), int(msg.image.shape[0])],
        "verdict": verdict.code.name if verdict else None,
        "failsafe": bool(verdict.failsafe) if verdict else None,
        "reasons": [asdict(r) for r in verdict.reasons] if verdict else [],
        "measurements": list(verdict.measurements) if verdict else [],
        "instances": _instances(msg.detections),
        "timings_ms": {stage: round(ms, 3) for stage, ms in msg.timings_ms},
        "files": files,
    }
