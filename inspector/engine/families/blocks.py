"""Building blocks that YOLO11-seg and YOLO26-seg add to YOLOv8-seg's, in plain torch.

Attribute names (``cv1``, ``m``, ``attn``, ``qkv``, ``ffn`` ...) are ultralytics' so its
state dicts load with ``strict=True``; every convolution is ``layers.Conv``, so
``layers.fuse_all`` folds their BatchNorms too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inspector.engine.layers import Conv, Proto


class Bottleneck(nn.Module):
    """Two 3x3 convs (``channels → hidden → channels``) with an optional residual connection."""

    def __init__(self, channels: int, shortcut: bool, hidden: int) -> None:
        super().__init__()
        self.cv1 = Conv(channels, hidden, 3)
        self.cv2 = Conv(hidden, channels, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3k(nn.Module):
    """CSP block with three convs: a bottleneck chain on one half, a 1x1 shortcut on the other."""

    def __init__(self, channels: int, n: int, shortcut: bool) -> None:
        super().__init__()
        hidden = channels // 2
        self.cv1 = Conv(channels, hidden, 1)
        self.cv2 = Conv(channels, hidden, 1)
        self.cv3 = Conv(2 * hidden, channels, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut, hidden) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class Attention(nn.Module):
    """Multi-head self-attention over all positions, plus a depthwise 3x3 positional term on the values."""

    def __init__(self, dim: int, num_heads: int, attn_ratio: float = 0.5) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        self.qkv = Conv(dim, dim + 2 * self.key_dim * num_heads, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, groups=dim, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(x).view(b, self.num_heads, 2 * self.key_dim + self.head_dim, h * w)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)
        out = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(out)


class PSABlock(nn.Module):
    """Attention then a two-conv feed-forward, each with a residual connection."""

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.attn = Attention(channels, num_heads)
        self.ffn = nn.Sequential(Conv(channels, channels * 2, 1), Conv(channels * 2, channels, 1, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.ffn(x)


def heads_for(channels: int) -> int:
    """ultralytics' head count for attention over ``channels``: one per 64 channels, at least one."""
    return max(channels // 64, 1)


class C2PSA(nn.Module):
    """Split in two halves, ``n`` PSA blocks on one, concat, 1x1 conv."""

    def __init__(self, channels: int, n: int) -> None:
        super().__init__()
        self.c = channels // 2
        self.cv1 = Conv(channels, 2 * self.c, 1)
        self.cv2 = Conv(2 * self.c, channels, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, heads_for(self.c)) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


def c3k2_block(hidden: int, c3k: bool, attn: bool) -> nn.Module:
    """One inner block of C3k2: bottleneck + PSA attention, a C3k, or a plain half-width bottleneck."""
    if attn:
        return nn.Sequential(Bottleneck(hidden, True, hidden // 2), PSABlock(hidden, heads_for(hidden)))
    if c3k:
        return C3k(hidden, 2, True)
    return Bottleneck(hidden, True, hidden // 2)


class C3k2(nn.Module):
    """C2f with a choice of inner block (see ``c3k2_block``); ``e`` sets the hidden width."""

    def __init__(self, c_in: int, c_out: int, n: int, c3k: bool, e: float = 0.5, attn: bool = False) -> None:
        super().__init__()
        self.c = int(c_out * e)
        self.cv1 = Conv(c_in, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c_out, 1)
        self.m = nn.ModuleList(c3k2_block(self.c, c3k, attn) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPFResidual(nn.Module):
    """YOLO26's SPPF: unactivated 1x1 in, ``n`` chained max-pools concatenated, 1x1 out, plus the input."""

    def __init__(self, channels: int, k: int = 5, n: int = 3) -> None:
        super().__init__()
        hidden = channels // 2
        self.cv1 = Conv(channels, hidden, 1, act=False)
        self.cv2 = Conv(hidden * (n + 1), channels, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        for _ in range(self.n):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1)) + x


class Proto26(Proto):
    """Prototypes from P3 with P4/P5 folded in (1x1 conv, nearest upsample, add), then v8's Proto.

    ``semseg`` is a semantic branch ultralytics trains but never runs at inference; it is kept
    so checkpoints load strictly, and ``drop_training_branch`` frees it.
    """

    def __init__(self, channels: tuple[int, ...], hidden: int, n_masks: int, nc: int) -> None:
        super().__init__(hidden, hidden, n_masks)
        self.feat_refine = nn.ModuleList(Conv(c, channels[0], 1) for c in channels[1:])
        self.feat_fuse = Conv(channels[0], hidden, 3)
        self.semseg: nn.Module = nn.Sequential(
            Conv(channels[0], hidden, 3), Conv(hidden, hidden, 3), nn.Conv2d(hidden, nc, 1)
        )

    def drop_training_branch(self) -> None:
        self.semseg = nn.Identity()

    def forward_levels(self, x: list[torch.Tensor]) -> torch.Tensor:
        feat = x[0]
        for i, refine in enumerate(self.feat_refine):
            # A constant factor, as ultralytics: inputs are stride multiples, so sizes line up exactly.
            feat = feat + F.interpolate(refine(x[i + 1]), scale_factor=2 ** (i + 1), mode="nearest")
        return super().forward(self.feat_fuse(feat))
