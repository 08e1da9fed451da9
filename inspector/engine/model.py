"""YOLOv8-seg assembled from its parts, layer for layer as ultralytics' ``yolov8-seg.yaml``.

The layer list lives in ``self.model`` (an ``nn.Sequential`` used only as an indexed
container) so parameter names read ``model.<i>.…`` exactly like ultralytics'
``SegmentationModel``; its state dict loads with ``strict=True``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

import torch
from torch import nn

from inspector.engine.head import RawOutputs, Segment
from inspector.engine.layers import SPPF, C2f, Concat, Conv, fuse_all

if TYPE_CHECKING:  # families build on this module: a run-time import would be a cycle
    from inspector.engine.families.network import LayerGraphNetwork

N_MASKS = 32


@dataclass(frozen=True)
class Scale:
    depth: float
    width: float
    max_channels: int


SCALES = {
    "n": Scale(0.33, 0.25, 1024),
    "s": Scale(0.33, 0.50, 1024),
    "m": Scale(0.67, 0.75, 768),
    "l": Scale(1.00, 1.00, 512),
    "x": Scale(1.00, 1.25, 512),
}

# Layer -> indices of earlier layers whose outputs it reads (besides the previous one).
CONCAT_SOURCES = {11: 6, 14: 4, 17: 12, 20: 9}
HEAD_INPUTS = (15, 18, 21)
KEEP_OUTPUTS = frozenset({4, 6, 9, 12, 15, 18, 21})


def channels(c: int, scale: Scale) -> int:
    return math.ceil(min(c, scale.max_channels) * scale.width / 8) * 8


def repeats(n: int, scale: Scale) -> int:
    return max(round(n * scale.depth), 1) if n > 1 else n


def build_layers(nc: int, scale: Scale) -> list[nn.Module]:
    """The 23 layers of yolov8-seg for one scale; comments give the yaml index."""
    ch = {c: channels(c, scale) for c in (64, 128, 256, 512, 1024)}

    def c2f(c_in: int, c_out: int, n: int, shortcut: bool) -> C2f:
        return C2f(c_in, c_out, repeats(n, scale), shortcut)

    def up() -> nn.Module:
        return nn.Upsample(scale_factor=2.0, mode="nearest")

    c64, c128, c256, c512, c1024 = ch[64], ch[128], ch[256], ch[512], ch[1024]
    return [
        Conv(3, c64, 3, 2),  # 0 P1/2
        Conv(c64, c128, 3, 2),  # 1 P2/4
        c2f(c128, c128, 3, True),  # 2
        Conv(c128, c256, 3, 2),  # 3 P3/8
        c2f(c256, c256, 6, True),  # 4
        Conv(c256, c512, 3, 2),  # 5 P4/16
        c2f(c512, c512, 6, True),  # 6
        Conv(c512, c1024, 3, 2),  # 7 P5/32
        c2f(c1024, c1024, 3, True),  # 8
        SPPF(c1024, c1024, 5),  # 9
        up(),  # 10
        Concat(),  # 11 (+6)
        c2f(c1024 + c512, c512, 3, False),  # 12
        up(),  # 13
        Concat(),  # 14 (+4)
        c2f(c512 + c256, c256, 3, False),  # 15 P3 out
        Conv(c256, c256, 3, 2),  # 16
        Concat(),  # 17 (+12)
        c2f(c256 + c512, c512, 3, False),  # 18 P4 out
        Conv(c512, c512, 3, 2),  # 19
        Concat(),  # 20 (+9)
        c2f(c512 + c1024, c1024, 3, False),  # 21 P5 out
        Segment(nc, N_MASKS, channels(256, scale), (c256, c512, c1024)),  # 22
    ]


class SegmentHead(Protocol):
    """A segmentation head: undecoded outputs from the three levels, then boxes+scores+coefficients."""

    def raw(self, x: list[torch.Tensor]) -> RawOutputs: ...

    def decode(self, raw: RawOutputs, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]: ...


G = TypeVar("G", bound="LayerGraph")


class LayerGraph(nn.Module):
    """A YOLO-seg layer list run as its yaml wires it. Layers live in ``self.model`` (an
    ``nn.Sequential`` used only as an indexed container) so parameter names read ``model.<i>.…``
    as in ultralytics' checkpoints. Subclasses give the wiring and the typed ``head``."""

    concat_sources: dict[int, int]  # layer -> earlier layer whose output it concatenates
    head_inputs: tuple[int, ...]
    keep_outputs: frozenset[int]

    def __init__(self, layers: list[nn.Module], nc: int, scale: str) -> None:
        super().__init__()
        self.nc = nc
        self.scale = scale
        self.model = nn.Sequential(*layers)
        self.stride = (8, 16, 32)

    @property
    def head(self) -> SegmentHead:
        raise NotImplementedError

    def fuse(self: G) -> G:
        """Fold BatchNorm into convolutions (inference only); returns self."""
        fuse_all(self)
        return self

    def raw(self, x: torch.Tensor) -> RawOutputs:
        """Everything with weights (the part worth tracing): the head's undecoded outputs."""
        saved: dict[int, torch.Tensor] = {}
        layers = list(self.model)
        for i, layer in enumerate(layers[:-1]):
            x = layer([x, saved[self.concat_sources[i]]]) if i in self.concat_sources else layer(x)
            if i in self.keep_outputs:
                saved[i] = x
        return self.head.raw([saved[i] for i in self.head_inputs])

    def decode(self, raw: RawOutputs, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head.decode(raw, input_hw)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.raw(x), (int(x.shape[2]), int(x.shape[3])))


class SegmentationModel(LayerGraph):
    """YOLOv8-seg: image batch (B, 3, H, W) in [0, 1] → (predictions (B, 4+nc+32, A), prototypes)."""

    concat_sources = CONCAT_SOURCES
    head_inputs = HEAD_INPUTS
    keep_outputs = KEEP_OUTPUTS

    def __init__(self, nc: int, scale: str) -> None:
        super().__init__(build_layers(nc, SCALES[scale]), nc, scale)

    @property
    def head(self) -> Segment:
        head = self.model[-1]
        if not isinstance(head, Segment):
            raise TypeError("last layer is not a Segment head")
        return head


class RawNetwork(nn.Module):
    """Just ``model.raw``: a shape-independent graph that ``torch.jit.trace`` can capture."""

    def __init__(self, model: SegmentationModel | LayerGraphNetwork) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> RawOutputs:
        return self.model.raw(x)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
