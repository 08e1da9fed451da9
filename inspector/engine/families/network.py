"""The layer graph YOLO11-seg and YOLO26-seg share, and the network that runs it.

Both yamls have 24 layers with the same wiring (C2PSA after SPPF shifts v8's indices by one);
only the blocks inside differ. Layers live in ``self.model`` (an ``nn.Sequential`` used as an
indexed container) so parameter names read ``model.<i>.…`` as in ultralytics' checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn

from inspector.engine.families.heads import Segment26
from inspector.engine.head import RawOutputs, Segment
from inspector.engine.layers import fuse_all
from inspector.engine.model import Scale

N_MASKS = 32

# ultralytics' [depth, width, max_channels] per scale, identical in yolo11-seg.yaml and yolo26-seg.yaml.
SCALES = {
    "n": Scale(0.50, 0.25, 1024),
    "s": Scale(0.50, 0.50, 1024),
    "m": Scale(0.50, 1.00, 512),
    "l": Scale(1.00, 1.00, 512),
    "x": Scale(1.00, 1.50, 512),
}
# parse_model forces C3k inner blocks everywhere at these scales, whatever the yaml row says.
C3K_SCALES = frozenset({"m", "l", "x"})

# Layer -> index of the earlier layer it concatenates with the previous one's output.
CONCAT_SOURCES = {12: 6, 15: 4, 18: 13, 21: 10}
HEAD_INPUTS = (16, 19, 22)
KEEP_OUTPUTS = frozenset(CONCAT_SOURCES.values()) | frozenset(HEAD_INPUTS)


class LayerGraphNetwork(nn.Module):
    """Image batch (B, 3, H, W) in [0, 1] → (predictions (B, 4+nc+32, A), prototypes (B, 32, H/4, W/4))."""

    arch = "?"

    def __init__(self, layers: list[nn.Module], nc: int, scale: str) -> None:
        super().__init__()
        self.nc = nc
        self.scale = scale
        self.model = nn.Sequential(*layers)
        self.stride = (8, 16, 32)

    @property
    def head(self) -> Segment | Segment26:
        head = self.model[-1]
        if not isinstance(head, (Segment, Segment26)):
            raise TypeError("last layer is not a segmentation head")
        return head

    def fuse(self) -> LayerGraphNetwork:
        """Fold BatchNorm into convolutions (inference only); returns self."""
        fuse_all(self)
        return self

    def raw(self, x: torch.Tensor) -> RawOutputs:
        """Everything with weights (the part worth tracing): the head's undecoded outputs."""
        saved: dict[int, torch.Tensor] = {}
        layers = list(self.model)
        for i, layer in enumerate(layers[:-1]):
            x = layer([x, saved[CONCAT_SOURCES[i]]]) if i in CONCAT_SOURCES else layer(x)
            if i in KEEP_OUTPUTS:
                saved[i] = x
        return self.head.raw([saved[i] for i in HEAD_INPUTS])

    def decode(self, raw: RawOutputs, input_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head.decode(raw, input_hw)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.raw(x), (int(x.shape[2]), int(x.shape[3])))
