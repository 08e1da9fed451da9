"""The mask AP used by the engine-mode held-out evaluation (deploy/training/mask_ap.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "training"))
from mask_ap import MaskAP, average_precision, mask_ious


def _box_mask(x0: int, y0: int, x1: int, y1: int, size: int = 20) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_mask_iou_of_overlapping_squares() -> None:
    a, b = _box_mask(0, 0, 4, 4), _box_mask(2, 0, 6, 4)  # 8 common pixels, 24 in the union
    assert mask_ious(np.stack([a]), np.stack([a, b])) == pytest.approx(np.array([[1.0, 8 / 24]]))
    assert mask_ious(np.zeros((0, 20, 20), bool), np.stack([a])).shape == (0, 1)


def test_perfect_detections_give_ap_one_and_misses_lower_it() -> None:
    gt = np.stack([_box_mask(0, 0, 5, 5), _box_mask(10, 10, 15, 15)])
    perfect = MaskAP()
    perfect.add(np.array([0, 0]), np.array([0.9, 0.8]), gt, np.array([0, 0]), gt)
    assert perfect.per_class() == {0: pytest.approx(1.0)}
    # one joint found, the other missed: recall stops at 0.5, so 51 of 101 points have precision 1
    half = MaskAP()
    half.add(np.array([0]), np.array([0.9]), gt[:1], np.array([0, 0]), gt)
    assert half.mean() == pytest.approx(51 / 101)


def test_duplicates_and_wrong_class_are_false_positives() -> None:
    gt = np.stack([_box_mask(0, 0, 5, 5)])
    ap = MaskAP()
    # a duplicate of a matched joint is a false positive, ranked after the match: no AP lost
    ap.add(np.array([1, 1, 2]), np.array([0.9, 0.95, 0.99]), np.stack([gt[0]] * 3), np.array([1]), gt)
    assert ap.per_class() == {1: pytest.approx(1.0)}  # class 2 has no ground truth: left out
    # a false positive ranked above the only true positive halves precision at every recall
    assert average_precision(np.array([0.9, 0.8]), np.array([False, True]), 1) == pytest.approx(0.5)
