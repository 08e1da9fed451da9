"""Instances from an end-to-end (one-to-one) head: top-k selection, no NMS.

Follows ultralytics' predict for such heads: the head keeps the ``k = max(max_det, 300)``
best (anchor, class) pairs — at most ``k`` anchors by their best score, then the best ``k``
of those anchors' class scores, so one anchor may carry two classes; ``agnostic`` keeps one
class per anchor — and predict then drops pairs at or below ``conf``, keeps the wanted
classes and truncates to ``max_det``. ``opts.iou`` plays no part.
"""

from __future__ import annotations

import torch

from inspector.engine.postprocess import NmsOptions

HEAD_TOP_K = 300  # ultralytics' predictor raises the head's max_det to at least this


def top_pairs(
    scores: torch.Tensor, k: int, agnostic: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(score, class, anchor) of the ``k`` best pairs, best first; ``scores`` is (A, nc)."""
    if agnostic:
        best, classes = scores.max(dim=1)
        top, anchor = best.topk(k)
        return top, classes[anchor], anchor
    candidates = scores.max(dim=1).values.topk(k).indices
    top, flat = scores[candidates].flatten().topk(k)
    nc = scores.shape[1]
    return top, flat % nc, candidates[flat // nc]


def select_end_to_end(pred: torch.Tensor, nc: int, opts: NmsOptions) -> torch.Tensor:
    """Kept rows (N, 6 + nm): x1, y1, x2, y2, score, class, mask coefficients — in input pixels.

    ``pred`` is one image's decoded one-to-one output, (4 + nc + nm, A), boxes already xyxy;
    the result has the layout of ``postprocess.select``'s, so masks are built the same way.
    """
    rows = pred.T
    k = min(max(opts.max_det, HEAD_TOP_K), rows.shape[0])
    score, cls, anchor = top_pairs(rows[:, 4 : 4 + nc], k, opts.agnostic)
    keep = score > opts.conf
    if opts.classes:
        wanted = torch.tensor(opts.classes, device=pred.device)
        keep &= (cls[:, None] == wanted).any(1)
    idx = keep.nonzero().squeeze(1)[: opts.max_det]
    picked = rows[anchor[idx]]
    return torch.cat((picked[:, :4], score[idx, None], cls[idx, None].to(rows.dtype), picked[:, 4 + nc :]), 1)
