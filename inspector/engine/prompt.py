"""Prompt selection as FastSAM is used: keep only the masks a box or point prompt picks.

The rule is ultralytics' ``FastSAMPredictor.prompt`` (ultralytics/models/fastsam/predict.py),
reimplemented on inspector's ``Detections`` (masks already at the original frame's size):

* box prompt: coordinates truncated to integers and clipped to the frame; each box keeps the
  ONE mask with the highest IoU against it, where IoU = (mask pixels inside the box) /
  (box area + mask area - mask pixels inside the box).
* point prompts: coordinates truncated and clipped to the last pixel; a mask is kept when a
  foreground point (label 1) lies on it — or, when every point is background, every mask —
  and no background point (label 0) lies on it.
* both given: the union of the two selections. Neither: every mask is kept.

Text prompts need a CLIP model and are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from inspector.engine.config import PromptConfig
from inspector.messages import Detections


@dataclass(frozen=True)
class Prompt:
    """Boxes (x1, y1, x2, y2) and points (x, y, label) in pixels of the original frame."""

    boxes: tuple[tuple[float, float, float, float], ...] = ()
    points: tuple[tuple[float, float, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.boxes or self.points)


def prompt_of(config: PromptConfig | None) -> Prompt:
    """The engine's prompt from its config section (an empty prompt keeps every instance)."""
    if config is None:
        return Prompt()
    return Prompt(tuple(config.boxes), tuple((x, y, int(label)) for x, y, label in config.points))


def by_boxes(masks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(N,) bool: for each (M, 4) box, the mask of (N, H, W) with the highest IoU against it."""
    height, width = masks.shape[1:]
    # Truncation toward zero, as ultralytics' int32 cast; on the masks' device (CUDA frames).
    boxes = boxes.to(device=masks.device, dtype=torch.int32).clone()
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
    counts = masks.to(torch.int64)
    box_areas = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0])
    inside = torch.stack([counts[:, b[1] : b[3], b[0] : b[2]].sum(dim=(1, 2)) for b in boxes.tolist()])
    union = box_areas[:, None] + counts.sum(dim=(1, 2)) - inside
    chosen = torch.zeros(len(masks), dtype=torch.bool, device=masks.device)
    chosen[torch.argmax(inside / union, dim=1)] = True
    return chosen


def by_points(masks: torch.Tensor, points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) bool: masks under a foreground point (all, if none is foreground) and under no
    background point. ``points`` (M, 2) x, y; ``labels`` (M,) 1 foreground / 0 background."""
    height, width = masks.shape[1:]
    coords = points.to(device=masks.device, dtype=torch.int64).clone()
    labels = labels.to(masks.device)
    coords[:, 0] = coords[:, 0].clamp(0, width - 1)
    coords[:, 1] = coords[:, 1].clamp(0, height - 1)
    hits = masks[:, coords[:, 1], coords[:, 0]].bool()  # (N, M)
    foreground = labels == 1
    if not bool(foreground.any()):
        chosen = torch.ones(len(masks), dtype=torch.bool, device=masks.device)
    else:
        chosen = hits[:, foreground].any(dim=1)
    return chosen & ~hits[:, ~foreground].any(dim=1)


def selected(masks: torch.Tensor, prompt: Prompt) -> torch.Tensor:
    """(N,) bool of the masks the prompt keeps (all when the prompt is empty)."""
    if not prompt or len(masks) == 0:
        return torch.ones(len(masks), dtype=torch.bool, device=masks.device)
    chosen = torch.zeros(len(masks), dtype=torch.bool, device=masks.device)
    if prompt.boxes:
        chosen |= by_boxes(masks, torch.tensor(prompt.boxes, dtype=torch.float64))
    if prompt.points:
        rows = torch.tensor(prompt.points, dtype=torch.float64)
        chosen |= by_points(masks, rows[:, :2], rows[:, 2].to(torch.int64))
    return chosen


def apply_prompt(dets: Detections, prompt: Prompt) -> Detections:
    """The detections whose masks the prompt keeps, in their original order."""
    if not prompt or len(dets) == 0:
        return dets
    keep = selected(dets.masks, prompt).to(dets.boxes.device)
    return replace(
        dets,
        boxes=dets.boxes[keep],
        scores=dets.scores[keep],
        class_ids=dets.class_ids[keep],
        masks=dets.masks[keep],
    )
