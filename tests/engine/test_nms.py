"""Greedy NMS: the numpy loop the CPU runs keeps exactly what the torch loop (the GPU's) keeps,
and both keep what torchvision's reference NMS keeps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.engine import postprocess
from inspector.engine.postprocess import greedy_nms, greedy_nms_sorted, greedy_nms_sorted_torch


def clustered_boxes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes in clusters (the overlaps NMS decides on), some exact duplicates, some degenerate."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 640, (max(n // 6, 1), 2))[rng.integers(0, max(n // 6, 1), n)]
    xy = centres + rng.normal(0, 6, (n, 2))
    wh = rng.uniform(0, 60, (n, 2))
    wh[rng.random(n) < 0.05] = 0  # empty boxes: their IoU with each other is 0/0
    boxes = np.concatenate((xy, xy + wh), 1).astype(np.float32)
    boxes[n // 2 :: 7] = boxes[n // 2 - 1]  # duplicates
    return torch.from_numpy(boxes), torch.from_numpy(rng.random(n).astype(np.float32))


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (2, 1), (77, 2), (400, 3), (2500, 4)])
@pytest.mark.parametrize("iou", [0.0, 0.45, 0.7])
def test_numpy_and_torch_loops_keep_the_same_boxes(n: int, seed: int, iou: float) -> None:
    boxes, scores = clustered_boxes(n, seed)
    ranked = boxes[scores.argsort(descending=True)]
    for limit in (300, 5):
        ours = greedy_nms_sorted(ranked.numpy(), iou, limit)
        theirs = greedy_nms_sorted_torch(ranked, iou, limit).numpy()
        assert ours.tolist() == theirs.tolist()


def test_both_numpy_paths_agree_and_match_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    tv_ops = pytest.importorskip("torchvision.ops")
    boxes, scores = clustered_boxes(600, 5)
    boxes[:, 2:] += 1  # torchvision's IoU of two empty boxes differs (0, not NaN): keep all non-empty
    expected = tv_ops.nms(boxes, scores, 0.45).tolist()
    assert greedy_nms(boxes, scores, 0.45, 10_000).tolist() == expected  # pairwise matrix path
    monkeypatch.setattr(postprocess, "PAIRWISE_MAX", 10)
    assert greedy_nms(boxes, scores, 0.45, 10_000).tolist() == expected  # one-box-at-a-time path


def test_no_candidates_keep_nothing() -> None:
    empty = torch.zeros((0, 4))
    assert greedy_nms(empty, torch.zeros(0), 0.5, 300).shape == (0,)
    assert greedy_nms_sorted_torch(empty, 0.5, 300).shape == (0,)
