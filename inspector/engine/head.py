"""The YOLOv8 segmentation head: box (DFL), class and mask-coefficient branches plus prototypes."""

from __future__ import annotations

import torch
from torch import nn

from inspector.engine.layers import DFL, Conv, Proto

REG_MAX = 16


def make_anchors(
    feats: list[torch.Tensor], strides: tuple[int, ...], offset: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor centres (2, A) in grid units and per-anchor stride (1, A) for the given feature maps."""
    points, stride_list = [], []
    dtype, device = feats[0].dtype, feats[0].device
    for feat, stride in zip(feats, strides, strict=False):
        h, w = feat.shape[2:]
        sx = torch.arange(w, device=device, dtype=dtype) + offset
        sy = torch.arange(h, device=device, dtype=dtype) + offset
        gy, gx = torch.meshgrid(sy, sx, indexing="ij")
        points.append(torch.stack((gx, gy), -1).view(-1, 2))
        stride_list.append(torch.full((h * w, 1), float(stride), dtype=dtype, device=device))
    return torch.cat(points).transpose(0, 1), torch.cat(stride_list).transpose(0, 1)


class Segment(nn.Module):
    """Decoded predictions (B, 4+nc+nm, A), xywh boxes in input pixels; prototypes (B, nm, H/4, W/4)."""

    def __init__(self, nc: int, n_masks: int, n_protos: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.nc = nc
        self.nm = n_masks
        self.nl = len(channels)
        self.strides: tuple[int, ...] = (8, 16, 32)
        box_c = max(16, channels[0] // 4, REG_MAX * 4)
        cls_c = max(channels[0], min(nc, 100))
        mask_c = max(channels[0] // 4, n_masks)
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(c, box_c, 3), Conv(box_c, box_c, 3), nn.Conv2d(box_c, 4 * REG_MAX, 1))
            for c in channels
        )
        self.cv3 = nn.ModuleList(
            nn.Sequential(Conv(c, cls_c, 3), Conv(cls_c, cls_c, 3), nn.Conv2d(cls_c, nc, 1)) for c in channels
        )
        self.dfl = DFL(REG_MAX)
        self.proto = Proto(channels[0], n_protos, n_masks)
        self.cv4 = nn.ModuleList(
            nn.Sequential(Conv(c, mask_c, 3), Conv(mask_c, mask_c, 3), nn.Conv2d(mask_c, n_masks, 1))
            for c in channels
        )
        self._anchor_key: tuple[int, ...] = ()
        self._anchors = torch.empty(0)
        self._anchor_strides = torch.empty(0)

    def anchors_for(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        # Anchors depend only on the feature-map sizes; cached so steady-state frames skip rebuilding them.
        key = (*(d for f in feats for d in f.shape[2:]), hash(feats[0].device), hash(feats[0].dtype))
        if key != self._anchor_key:
            self._anchors, self._anchor_strides = make_anchors(feats, self.strides)
            self._anchor_key = key
        return self._anchors, self._anchor_strides

    def forward(self, x: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        bs = x[0].shape[0]
        boxes = torch.cat([self.cv2[i](x[i]).view(bs, 4 * REG_MAX, -1) for i in range(self.nl)], 2)
        scores = torch.cat([self.cv3[i](x[i]).view(bs, self.nc, -1) for i in range(self.nl)], 2)
        coeffs = torch.cat([self.cv4[i](x[i]).view(bs, self.nm, -1) for i in range(self.nl)], 2)
        protos = self.proto(x[0])
        anchors, strides = self.anchors_for(x)
        lt, rb = self.dfl(boxes).chunk(2, 1)
        x1y1 = anchors.unsqueeze(0) - lt
        x2y2 = anchors.unsqueeze(0) + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((xywh, scores.sigmoid(), coeffs), 1), protos
