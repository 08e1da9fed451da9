"""Synthetic detections for the rules tests: masks drawn with OpenCV, boxes from the masks."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from inspector.messages import Detections

DEMO_NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")


def disk(shape: tuple[int, int], center: tuple[int, int], radius: int) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, center, radius, 1, -1)
    return mask > 0


def ring(shape: tuple[int, int], center: tuple[int, int], outer: int, inner: int) -> np.ndarray:
    return disk(shape, center, outer) & ~disk(shape, center, inner)


def rectangle(shape: tuple[int, int], x: int, y: int, w: int, h: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y : y + h, x : x + w] = True
    return mask


def bar(
    shape: tuple[int, int], center: tuple[float, float], size: tuple[float, float], angle: float
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    corners = cv2.boxPoints((center, size, angle))
    cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    return mask > 0


def box_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def detections(
    masks: Sequence[np.ndarray],
    class_ids: Sequence[int] | None = None,
    scores: Sequence[float] | None = None,
    names: tuple[str, ...] = DEMO_NAMES,
    shape: tuple[int, int] | None = None,
) -> Detections:
    """Detections whose boxes are the masks' tight boxes (as the engine's cropped masks are)."""
    n = len(masks)
    if n:
        stack = torch.from_numpy(np.stack(masks))
    else:
        stack = torch.zeros((0, *(shape or (64, 64))), dtype=torch.bool)
    return Detections(
        boxes=torch.tensor([box_of(m) for m in masks], dtype=torch.float32).reshape(n, 4),
        scores=torch.tensor(list(scores) if scores is not None else [0.9] * n, dtype=torch.float32),
        class_ids=torch.tensor(list(class_ids) if class_ids is not None else [0] * n, dtype=torch.int64),
        masks=stack,
        names=names,
    )
