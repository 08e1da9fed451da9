"""The YOLOv8 segmentation head: box (DFL), class and mask-coefficient branches plus prototypes."""

from __future__ import annotations

import torch
from torch import nn

from inspector.engine.layers import DFL, Conv, Proto

REG_MAX = 16


RawOutputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def level_sizes(input_hw: tuple[int, int], strides: tuple[int, ...]) -> list[tuple[int, int]]:
    """Feature-map sizes per level: each stride-2 conv (k3, p1) maps n to ceil(n / 2)."""
    sizes = []
    for stride in strides:
        h, w = input_hw
        for _ in range(stride.bit_length() - 1):
            h, w = -(-h // 2), -(-w // 2)
        sizes.append((h, w))
    return sizes


def make_anchors(
    sizes: list[tuple[int, int]],
    strides: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device,
    offset: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor centres (2, A) in grid units and per-anchor stride (1, A) for feature maps of ``sizes``."""
    points, stride_list = [], []
    for (h, w), stride in zip(sizes, strides, strict=True):
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
        # Kept per input size: a captured CUDA graph holds on to the anchors of its own size.
        self._anchor_cache: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def anchors_for(
        self, input_hw: tuple[int, int], dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # Anchors depend only on the input size; cached so steady-state frames skip rebuilding them.
        key = (*input_hw, str(device), dtype)
        if key not in self._anchor_cache:
            if len(self._anchor_cache) >= 32:
                self._anchor_cache.clear()
            sizes = level_sizes(input_hw, self.strides)
            self._anchor_cache[key] = make_anchors(sizes, self.strides, dtype, device)
        return self._anchor_cache[key]

    def raw(self, x: list[torch.Tensor]) -> RawOutputs:
        """Box distributions (B, 64, A), class logits (B, nc, A), mask coefficients (B, nm, A), prototypes."""
        bs = x[0].shape[0]
        boxes = torch.cat([self.cv2[i](x[i]).view(bs, 4 * REG_MAX, -1) for i in range(self.nl)], 2)
        scores = torch.cat([self.cv3[i](x[i]).view(bs, self.nc, -1) for i in range(self.nl)], 2)
        coeffs = torch.cat([self.cv4[i](x[i]).view(bs, self.nm, -1) for i in range(self.nl)], 2)
        return boxes, scores, coeffs, self.proto(x[0])

    def decode(self, raw: RawOutputs, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 4 + nc + nm, A): xywh boxes in input pixels, class scores, mask coefficients; protos."""
        boxes, scores, coeffs, protos = raw
        anchors, strides = self.anchors_for(input_hw, boxes.dtype, boxes.device)
        lt, rb = self.dfl(boxes).chunk(2, 1)
        x1y1 = anchors.unsqueeze(0) - lt
        x2y2 = anchors.unsqueeze(0) + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((xywh, scores.sigmoid(), coeffs), 1), protos

    def forward(self, x: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("the head runs through SegmentationModel.raw and .decode")
