"""Segmentation heads of YOLO11 (v8's head, depthwise-separable class branch) and YOLO26 (no DFL,
a one-to-one copy of every branch for NMS-free inference, prototypes from all three levels).

Both give the v8 head's interface: ``raw(levels)`` → (boxes, class logits, mask coefficients,
prototypes) and ``decode(raw, input_hw)`` → ((B, 4 + nc + nm, A), prototypes).
"""

from __future__ import annotations

import torch
from torch import nn

from inspector.engine.families.blocks import Proto26
from inspector.engine.head import RawOutputs, Segment, level_sizes, make_anchors
from inspector.engine.layers import Conv


def separable_class_branch(c_in: int, hidden: int, nc: int) -> nn.Sequential:
    """ultralytics' class branch for v11+ (its Detect with ``legacy=False``): two depthwise 3x3 +
    pointwise 1x1 pairs, then a 1x1 conv to class logits."""
    return nn.Sequential(
        nn.Sequential(Conv(c_in, c_in, 3, groups=c_in), Conv(c_in, hidden, 1)),
        nn.Sequential(Conv(hidden, hidden, 3, groups=hidden), Conv(hidden, hidden, 1)),
        nn.Conv2d(hidden, nc, 1),
    )


def three_conv_branch(c_in: int, hidden: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(Conv(c_in, hidden, 3), Conv(hidden, hidden, 3), nn.Conv2d(hidden, c_out, 1))


class Segment11(Segment):
    """YOLOv8's Segment head with YOLO11's class branch; decoding is v8's (DFL, xywh boxes)."""

    def __init__(self, nc: int, n_masks: int, n_protos: int, channels: tuple[int, ...]) -> None:
        super().__init__(nc, n_masks, n_protos, channels)
        cls_c = max(channels[0], min(nc, 100))
        self.cv3 = nn.ModuleList(separable_class_branch(c, cls_c, nc) for c in channels)


class Segment26(nn.Module):
    """YOLO26's head: four box distances per anchor (``reg_max`` 1, so no DFL), two branch sets.

    ``cv2/cv3/cv4`` are the one-to-many branches (trained with NMS in mind), ``one2one_*`` the
    one-to-one copies. ``end2end`` picks the one-to-one set, whose boxes decode to xyxy and are
    selected by top-k (``families.topk``); otherwise boxes decode to xywh for NMS, as v8's do.
    """

    def __init__(
        self, nc: int, n_masks: int, n_protos: int, channels: tuple[int, ...], end2end: bool
    ) -> None:
        super().__init__()
        self.nc = nc
        self.nm = n_masks
        self.nl = len(channels)
        self.strides: tuple[int, ...] = (8, 16, 32)
        self.end2end = end2end
        box_c = max(16, channels[0] // 4, 4)
        cls_c = max(channels[0], min(nc, 100))
        mask_c = max(channels[0] // 4, n_masks)
        self.cv2 = nn.ModuleList(three_conv_branch(c, box_c, 4) for c in channels)
        self.cv3 = nn.ModuleList(separable_class_branch(c, cls_c, nc) for c in channels)
        self.one2one_cv2 = nn.ModuleList(three_conv_branch(c, box_c, 4) for c in channels)
        self.one2one_cv3 = nn.ModuleList(separable_class_branch(c, cls_c, nc) for c in channels)
        self.proto = Proto26(channels, n_protos, n_masks, nc)
        self.cv4 = nn.ModuleList(three_conv_branch(c, mask_c, n_masks) for c in channels)
        self.one2one_cv4 = nn.ModuleList(three_conv_branch(c, mask_c, n_masks) for c in channels)
        self._anchor_cache: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def branches(self) -> tuple[nn.ModuleList, nn.ModuleList, nn.ModuleList]:
        """(box, class, mask) branch lists of the head that ``end2end`` selects."""
        if self.end2end:
            return self.one2one_cv2, self.one2one_cv3, self.one2one_cv4
        return self.cv2, self.cv3, self.cv4

    def drop_unused_branches(self) -> None:
        """Free the branch set ``end2end`` does not select (inference only), as ultralytics' fuse does:
        a checkpoint fused by ultralytics holds only the set its mode used."""
        names = ("cv2", "cv3", "cv4") if self.end2end else ("one2one_cv2", "one2one_cv3", "one2one_cv4")
        for name in names:
            setattr(self, name, nn.ModuleList())

    def anchors_for(
        self, input_hw: tuple[int, int], dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (*input_hw, str(device), dtype)
        if key not in self._anchor_cache:
            if len(self._anchor_cache) >= 32:
                self._anchor_cache.clear()
            sizes = level_sizes(input_hw, self.strides)
            self._anchor_cache[key] = make_anchors(sizes, self.strides, dtype, device)
        return self._anchor_cache[key]

    def raw(self, x: list[torch.Tensor]) -> RawOutputs:
        """Box distances (B, 4, A), class logits (B, nc, A), mask coefficients (B, nm, A), prototypes."""
        bs = x[0].shape[0]
        box_head, cls_head, mask_head = self.branches()
        boxes = torch.cat([box_head[i](x[i]).view(bs, 4, -1) for i in range(self.nl)], 2)
        scores = torch.cat([cls_head[i](x[i]).view(bs, self.nc, -1) for i in range(self.nl)], 2)
        coeffs = torch.cat([mask_head[i](x[i]).view(bs, self.nm, -1) for i in range(self.nl)], 2)
        return boxes, scores, coeffs, self.proto.forward_levels(x)

    def decode(self, raw: RawOutputs, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 4 + nc + nm, A): input-pixel boxes (xyxy if ``end2end``, else xywh), scores, coefficients."""
        boxes, scores, coeffs, protos = raw
        anchors, strides = self.anchors_for(input_hw, boxes.dtype, boxes.device)
        lt, rb = boxes.chunk(2, 1)
        x1y1 = anchors.unsqueeze(0) - lt
        x2y2 = anchors.unsqueeze(0) + rb
        if self.end2end:
            box = torch.cat((x1y1, x2y2), 1) * strides
        else:
            box = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((box, scores.sigmoid(), coeffs), 1), protos

    def forward(self, x: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("the head runs through the network's raw and decode")
