"""From raw head outputs to instances: confidence filter, NMS in torch, boxes back to original pixels.

Semantics follow ultralytics' ``non_max_suppression`` (best class per anchor, class
offset for per-class NMS, greedy suppression at IoU > threshold, as torchvision does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inspector.engine.letterbox import Letterbox

MAX_WH = 7680  # class offset: boxes of different classes never overlap
MAX_NMS = 30000  # candidates kept for NMS, highest scores first
PAIRWISE_MAX = 1024  # up to this many candidates all pairwise IoUs at once (faster below ~1000, measured)


@dataclass(frozen=True)
class NmsOptions:
    conf: float
    iou: float
    max_det: int
    classes: tuple[int, ...] | None  # None or () = all classes
    agnostic: bool


def xywh_to_xyxy(xywh: torch.Tensor) -> torch.Tensor:
    xy, wh = xywh[:, :2], xywh[:, 2:4] / 2
    return torch.cat((xy - wh, xy + wh), 1)


def greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, iou: float, limit: int) -> torch.Tensor:
    """Indices kept by greedy NMS, highest score first; stops after ``limit`` keeps."""
    order = scores.argsort(descending=True)
    ranked = boxes[order]
    if boxes.device.type == "cpu":
        # On the CPU the loop runs in numpy (same float32 arithmetic, same keeps): a torch op costs
        # microseconds of dispatch, and with ~50 keeps a frame that was most of the NMS time.
        return order[torch.from_numpy(greedy_nms_sorted(ranked.float().numpy(), iou, limit))]
    return order[greedy_nms_sorted_torch(ranked, iou, limit)]


def greedy_nms_sorted_torch(boxes: torch.Tensor, iou: float, limit: int) -> torch.Tensor:
    """``greedy_nms_sorted`` on the boxes' own device (a GPU: no copy to the host)."""
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    alive = torch.arange(boxes.shape[0], device=boxes.device)
    keep: list[torch.Tensor] = []
    while alive.numel() and len(keep) < limit:
        i = alive[0]
        keep.append(i)
        rest = alive[1:]
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp_(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp_(min=0)
        inter = w * h
        alive = rest[inter / (areas[i] + areas[rest] - inter) <= iou]
    if not keep:
        return alive[:0]
    return torch.stack(keep)


def greedy_nms_sorted(boxes: np.ndarray, iou: float, limit: int) -> np.ndarray:
    """Positions kept by greedy NMS over float32 xyxy ``boxes`` sorted by score, best first. A pair
    whose IoU is not a number (two empty boxes) suppresses, as the comparison ``<= iou`` does in torch."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    n = boxes.shape[0]
    keep: list[int] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        if n <= PAIRWISE_MAX:  # every pair's IoU at once, then one cheap pass
            w = (np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1)).clip(min=0)
            h = (np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1)).clip(min=0)
            inter = w * h
            spared = inter / (areas[:, None] + areas - inter) <= iou
            alive = np.ones(n, dtype=bool)
            for i in range(n):
                if alive[i]:
                    keep.append(i)
                    if len(keep) >= limit:
                        break
                    alive &= spared[i]
            return np.asarray(keep, dtype=np.int64)
        rest = np.arange(n)
        while rest.size and len(keep) < limit:
            i, rest = int(rest[0]), rest[1:]
            keep.append(i)
            w = (np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])).clip(min=0)
            h = (np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])).clip(min=0)
            inter = w * h
            rest = rest[inter / (areas[i] + areas[rest] - inter) <= iou]
    return np.asarray(keep, dtype=np.int64)


def select(pred: torch.Tensor, nc: int, opts: NmsOptions) -> torch.Tensor:
    """Kept rows (N, 6 + nm): x1, y1, x2, y2, score, class, mask coefficients — in input pixels.

    ``pred`` is one image's head output, (4 + nc + nm, A).
    """
    scores_all = pred[4 : 4 + nc]
    conf, cls = scores_all.max(0)
    candidates = conf > opts.conf
    if opts.classes:
        wanted = torch.tensor(opts.classes, device=pred.device)
        candidates &= (cls[:, None] == wanted).any(1)
    idx = candidates.nonzero().squeeze(1)
    if idx.numel() > MAX_NMS:
        idx = idx[conf[idx].topk(MAX_NMS).indices]
    rows = pred[:, idx].T
    boxes = xywh_to_xyxy(rows[:, :4])
    out = torch.cat((boxes, conf[idx, None], cls[idx, None].to(rows.dtype), rows[:, 4 + nc :]), 1)
    if out.shape[0] == 0:
        return out
    offset = out[:, 5:6] * (0 if opts.agnostic else MAX_WH)
    keep = greedy_nms(out[:, :4] + offset, out[:, 4], opts.iou, opts.max_det)
    return out[keep]


def boxes_to_original(boxes: torch.Tensor, plan: Letterbox) -> torch.Tensor:
    """Input-pixel xyxy boxes mapped back to the original image and clipped to it (a new tensor)."""
    h, w = plan.orig_hw
    new_w, new_h = plan.new_unpad_wh
    pad = boxes.new_tensor([plan.left, plan.top, plan.left, plan.top])
    gain = boxes.new_tensor([new_w / w, new_h / h, new_w / w, new_h / h])
    out = (boxes - pad) / gain
    limits = boxes.new_tensor([w, h, w, h])
    return torch.minimum(out.clamp_(min=0), limits)
