"""The start-up check of a SAM pair run at a reduced precision (``engine.refine.precision``):
the same boxes on the same check frame, refined at that precision and at f32, must give masks
that agree (worst IoU ≥ ``engine.refine.check_iou``), as the detector's own precision check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.engine.backends.precision_check import mask_iou, warmup_frame
from inspector.engine.refine.sam import SamRefiner
from inspector.errors import ModelError

CHECK_HW = (480, 640)
# Boxes (x1, y1, x2, y2) as fractions of the frame: small to large, centre and corners, square
# and elongated, as parts are.
CHECK_BOXES = (
    (0.05, 0.05, 0.20, 0.18),
    (0.30, 0.10, 0.55, 0.40),
    (0.60, 0.55, 0.95, 0.95),
    (0.10, 0.50, 0.45, 0.62),
    (0.25, 0.25, 0.75, 0.75),
    (0.70, 0.05, 0.78, 0.45),
)


@dataclass(frozen=True)
class RefineCheck:
    worst_iou: float  # lowest mask IoU over the compared boxes (1.0 when none was compared)
    compared: int  # boxes where either side gave a mask (both empty: nothing to compare)


def check_boxes(height: int, width: int) -> list[np.ndarray]:
    scale = np.array([width, height, width, height], dtype=np.float32)
    return [np.asarray(box, dtype=np.float32) * scale for box in CHECK_BOXES]


def compare_refiners(candidate: SamRefiner, reference: SamRefiner) -> RefineCheck:
    frame = warmup_frame(CHECK_HW)
    got, want = candidate.embed(frame), reference.embed(frame)
    worst, compared = 1.0, 0
    for box in check_boxes(*CHECK_HW):
        a, b = candidate.mask(got, box)[0], reference.mask(want, box)[0]
        if (a | b).any():  # both empty: nothing to compare
            worst = min(worst, mask_iou(a, b))
            compared += 1
    return RefineCheck(worst, compared)


def check_refine_precision(
    candidate: SamRefiner, reference: SamRefiner, precision: str, min_iou: float
) -> RefineCheck:
    """``compare_refiners``, and a ``ModelError`` naming the keys when the worst IoU is below ``min_iou``."""
    result = compare_refiners(candidate, reference)
    if result.worst_iou < min_iou:
        raise ModelError(
            f"engine.refine.precision {precision}: the start-up check against f32 failed (worst mask IoU "
            f"{result.worst_iou:.3f} over {result.compared} check box(es), engine.refine.check_iou is "
            f"{min_iou}); run f32, or lower engine.refine.check_iou (0 skips the check) if this "
            "difference is acceptable"
        )
    return result
