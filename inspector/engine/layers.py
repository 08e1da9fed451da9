"""Building blocks of YOLOv8-seg in plain torch.

Attribute names (``conv``, ``bn``, ``cv1``, ``m``, ``proto``, ``dfl`` ...) are the
ones ultralytics uses, so an ultralytics state dict loads into these modules with
``strict=True``. Each block folds its BatchNorm into the convolution with ``fuse()``.
"""

from __future__ import annotations

import torch
from torch import nn


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution with bias that computes ``bn(conv(x))`` in one step (inference only)."""
    with torch.device("meta"):  # no point initialising weights that are overwritten at once
        fused = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            conv.stride,  # type: ignore[arg-type]
            conv.padding,  # type: ignore[arg-type]
            conv.dilation,  # type: ignore[arg-type]
            conv.groups,
            bias=True,
        )
    if bn.running_var is None or bn.running_mean is None:
        raise ValueError("BatchNorm without running statistics cannot be folded")
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = conv.weight * scale.view(-1, 1, 1, 1)
        conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        bias = bn.bias + (conv_bias - bn.running_mean) * scale
    fused.weight = nn.Parameter(weight, requires_grad=False)
    fused.bias = nn.Parameter(bias, requires_grad=False)
    return fused


class Conv(nn.Module):
    """Conv2d (no bias) → BatchNorm → SiLU, 'same' padding; BatchNorm folded away by ``fuse()``."""

    def __init__(
        self, c_in: int, c_out: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out)
        self.act: nn.Module = nn.SiLU(inplace=True) if act else nn.Identity()

    def fuse(self) -> None:
        if isinstance(self.bn, nn.BatchNorm2d):
            self.conv = fold_batchnorm(self.conv, self.bn)
            self.bn = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two 3x3 convs with an optional residual connection."""

    def __init__(self, channels: int, shortcut: bool) -> None:
        super().__init__()
        self.cv1 = Conv(channels, channels, 3)
        self.cv2 = Conv(channels, channels, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP block: split, a chain of bottlenecks whose every output is kept, concat, 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool) -> None:
        super().__init__()
        self.c = c_out // 2
        self.cv1 = Conv(c_in, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c_out, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained 5x5 max-pools concatenated."""

    def __init__(self, c_in: int, c_out: int, k: int = 5) -> None:
        super().__init__()
        hidden = c_in // 2
        self.cv1 = Conv(c_in, hidden, 1)
        self.cv2 = Conv(hidden * 4, c_out, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1 = self.cv1(x)
        y2 = self.m(y1)
        y3 = self.m(y2)
        return self.cv2(torch.cat((y1, y2, y3, self.m(y3)), 1))


class Concat(nn.Module):
    """Concatenate a list of feature maps along channels."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, 1)


class DFL(nn.Module):
    """Distribution focal loss integral: expected value of a softmax over ``bins`` distance bins."""

    def __init__(self, bins: int = 16) -> None:
        super().__init__()
        self.bins = bins
        self.conv = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.arange(bins, dtype=torch.float32).view(1, bins, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, a = x.shape
        probs = x.view(b, 4, self.bins, a).transpose(2, 1).softmax(1)
        return self.conv(probs).view(b, 4, a)


class Proto(nn.Module):
    """Mask prototype branch: conv, 2x transposed-conv upsample, conv, 1x1 conv to ``n_masks`` maps."""

    def __init__(self, c_in: int, hidden: int = 256, n_masks: int = 32) -> None:
        super().__init__()
        self.cv1 = Conv(c_in, hidden, 3)
        self.upsample = nn.ConvTranspose2d(hidden, hidden, 2, 2, 0, bias=True)
        self.cv2 = Conv(hidden, hidden, 3)
        self.cv3 = Conv(hidden, n_masks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


def fuse_all(module: nn.Module) -> None:
    """Fold every Conv's BatchNorm into its convolution, in place."""
    for sub in module.modules():
        if isinstance(sub, Conv):
            sub.fuse()
