"""The start-up check of a reduced precision (OpenVINO bf16/f16/int8, TensorRT fp16): the same
network at that precision and at f32 see the same warm-up frame, and the masks they give must
agree. Detections are assembled by ``Engine`` itself, so the check sees exactly what the line
would: same letterbox, NMS/top-k, mask crop and threshold.

Instances are matched by class and box IoU; a matched pair's mask IoU below ``min_iou`` refuses
the precision. An instance without a partner is tolerated only when its score is within
``SCORE_MARGIN`` of ``engine.conf`` (a reduced precision may move a borderline score across the
threshold); any other is a real difference and refuses it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from inspector.engine.config import EngineConfig
from inspector.engine.network import Network
from inspector.errors import ModelError
from inspector.messages import Detections

BOX_MATCH_IOU = 0.5  # a pair below this is two different instances, not one that moved
SCORE_MARGIN = 0.05  # how far from engine.conf a score may sit and still flip with precision


@dataclass(frozen=True)
class Comparison:
    worst_iou: float  # lowest mask IoU of a matched pair (1.0 when nothing matched)
    matched: int
    unexplained: int  # instances without a partner whose score is not near the threshold


def warmup_frame(frame_hw: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A deterministic board-like BGR frame: green board, smooth texture, dark bodies and bright
    round joints, so a segmentation model has edges and blobs to find (a blank frame finds
    nothing and would make the check vacuous)."""
    height, width = frame_hw
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 60, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    frame = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    frame += np.array([40, 90, 30], dtype=np.uint8)  # green-ish board (BGR)
    unit = max(4, min(height, width) // 20)
    for _ in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (int(v) for v in rng.integers(unit, 4 * unit, 2))
        cv2.rectangle(frame, (x, y), (x + w, y + h), (30, 30, 30), -1)
        for jx in (x, x + w):
            shade = int(rng.integers(150, 240))
            cv2.circle(frame, (jx, y + h // 2), max(2, unit // 2), (shade, shade, shade), -1)
    return frame


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU of xyxy boxes."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-9)


def mask_iou(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """IoU of two bool masks (torch or numpy); 1.0 when both are empty."""
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def match(candidate: Detections, reference: Detections) -> list[tuple[int, int]]:
    """Greedy pairs (candidate index, reference index) of one class, best box IoU first."""
    if not len(candidate) or not len(reference):
        return []
    ious = box_iou(candidate.boxes.float().cpu(), reference.boxes.float().cpu())
    same_class = candidate.class_ids.cpu()[:, None] == reference.class_ids.cpu()[None, :]
    ious = torch.where(same_class, ious, torch.zeros_like(ious))
    pairs: list[tuple[int, int]] = []
    while True:
        best = int(ious.argmax())
        i, j = divmod(best, ious.shape[1])
        if float(ious[i, j]) < BOX_MATCH_IOU:
            return pairs
        pairs.append((i, j))
        ious[i, :] = 0.0
        ious[:, j] = 0.0


def compare(candidate: Detections, reference: Detections, conf: float) -> Comparison:
    pairs = match(candidate, reference)
    worst = 1.0
    for i, j in pairs:
        worst = min(worst, mask_iou(candidate.masks[i].cpu(), reference.masks[j].cpu()))
    unexplained = 0
    for dets, paired in ((candidate, {i for i, _ in pairs}), (reference, {j for _, j in pairs})):
        for k, score in enumerate(dets.scores.float().cpu().tolist()):
            if k not in paired and score > conf + SCORE_MARGIN:
                unexplained += 1
    return Comparison(worst, len(pairs), unexplained)


def check_precision(
    candidate: Network,
    reference: Network,
    frame_hw: tuple[int, int],
    min_iou: float,
    what: str,
    config: EngineConfig | None = None,
) -> float:
    """The worst matched mask IoU of ``candidate`` against ``reference`` (its f32 twin) on a
    warm-up frame of ``frame_hw`` (h, w); a ``ModelError`` when it is below ``min_iou`` or an
    instance appears on one side only with a score not near the threshold.

    ``what`` is "<backend> <precision>" (e.g. "openvino bf16"); the error names both and the
    ``engine.<backend>.check_iou`` key. ``config`` (conf, iou, classes...) is the line's engine
    section, so the check sees what the line would; the defaults otherwise."""
    from inspector.engine.engine import (
        Engine,
    )  # here: the backends it checks are imported by Engine's registry

    settings = (config or EngineConfig()).model_copy(update={"prompt": None, "warmup": 0})
    frame = warmup_frame(frame_hw)
    (got,) = Engine(candidate, settings).infer([frame])
    (want,) = Engine(reference, settings).infer([frame])
    result = compare(got, want, settings.conf)
    if result.worst_iou < min_iou or result.unexplained:
        backend = what.split()[0] if what.strip() else "<backend>"
        found = f"{result.unexplained} instance(s) found at one precision only, " * bool(result.unexplained)
        raise ModelError(
            f"{what}: the start-up check against f32 failed ({found}worst mask IoU {result.worst_iou:.3f} "
            f"over {result.matched} matched instance(s), engine.{backend}.check_iou is {min_iou}); run f32, "
            f"or lower engine.{backend}.check_iou (0 skips the check) if this difference is acceptable"
        )
    return result.worst_iou
