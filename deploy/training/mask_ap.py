"""Mask AP at one IoU threshold, COCO style, on full-resolution boolean masks.

Per image and class, detections are taken in descending score order and each is matched
to the unmatched ground-truth mask of that class it overlaps most, if that IoU is >= the
threshold (a true positive); otherwise it is a false positive. Over all images, a class's
detections are sorted by score into a precision/recall curve; precision is made monotone
(the envelope) and averaged at the 101 recall points 0, 0.01, ..., 1 (COCO's
interpolation). A class without ground truth is left out of the mean.

numpy only: the engine-mode evaluation uses it without ultralytics.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def mask_ious(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G) IoU of boolean masks ``pred`` (P, H, W) and ``gt`` (G, H, W)."""
    if len(pred) == 0 or len(gt) == 0:
        return np.zeros((len(pred), len(gt)), np.float64)
    p = pred.reshape(len(pred), -1).astype(np.float32)
    g = gt.reshape(len(gt), -1).astype(np.float32)
    inter = p @ g.T
    union = p.sum(1)[:, None] + g.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0).astype(np.float64)


def match_image(scores: np.ndarray, ious: np.ndarray, threshold: float) -> np.ndarray:
    """True-positive flag per detection (in the order given) for one image and class."""
    tp = np.zeros(len(scores), bool)
    taken = np.zeros(ious.shape[1], bool)
    for d in np.argsort(-scores, kind="stable"):
        if ious.shape[1] == 0:
            break
        candidates = np.where(taken, -1.0, ious[d])
        g = int(np.argmax(candidates))
        if candidates[g] >= threshold:
            taken[g] = True
            tp[d] = True
    return tp


def average_precision(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float:
    """101-point interpolated AP of one class from all its detections' scores and TP flags."""
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = tp[order].astype(np.float64)
    tps, fps = np.cumsum(hits), np.cumsum(1.0 - hits)
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, np.finfo(np.float64).eps)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.array([envelope[i] if i < len(envelope) else 0.0 for i in at])
    return float(sampled.mean())


class MaskAP:
    """Accumulates per-image matches; ``per_class()`` and ``mean()`` give AP at ``threshold``."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._scores: dict[int, list[np.ndarray]] = defaultdict(list)
        self._tp: dict[int, list[np.ndarray]] = defaultdict(list)
        self._n_gt: dict[int, int] = defaultdict(int)

    def add(
        self,
        pred_classes: np.ndarray,
        pred_scores: np.ndarray,
        pred_masks: np.ndarray,
        gt_classes: np.ndarray,
        gt_masks: np.ndarray,
    ) -> None:
        """One image: predictions (N,), (N,), (N, H, W) bool; ground truth (G,), (G, H, W) bool."""
        for c in set(pred_classes.tolist()) | set(gt_classes.tolist()):
            p, g = pred_classes == c, gt_classes == c
            self._n_gt[c] += int(g.sum())
            if p.any():
                ious = mask_ious(pred_masks[p], gt_masks[g])
                self._scores[c].append(pred_scores[p])
                self._tp[c].append(match_image(pred_scores[p], ious, self.threshold))

    def per_class(self) -> dict[int, float]:
        """AP per class id that has ground truth."""
        out = {}
        for c in sorted(self._n_gt):
            if self._n_gt[c] == 0:
                continue
            scores = np.concatenate(self._scores[c]) if self._scores[c] else np.zeros(0)
            tp = np.concatenate(self._tp[c]) if self._tp[c] else np.zeros(0, bool)
            out[c] = average_precision(scores, tp, self._n_gt[c])
        return out

    def mean(self) -> float:
        values = list(self.per_class().values())
        return float(np.mean(values)) if values else float("nan")
