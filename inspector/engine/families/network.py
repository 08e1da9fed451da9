"""The layer graph YOLO11-seg and YOLO26-seg share, and the network that runs it.

Both yamls have 24 layers with the same wiring (C2PSA after SPPF shifts v8's indices by one);
only the blocks inside differ. Layers live in ``self.model`` (an ``nn.Sequential`` used as an
indexed container) so parameter names read ``model.<i>.…`` as in ultralytics' checkpoints.
"""

from __future__ import annotations

from inspector.engine.families.heads import Segment26
from inspector.engine.head import Segment
from inspector.engine.model import LayerGraph, Scale

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


class LayerGraphNetwork(LayerGraph):
    """Image batch (B, 3, H, W) in [0, 1] → (predictions (B, 4+nc+32, A), prototypes (B, 32, H/4, W/4))."""

    arch = "?"
    concat_sources = CONCAT_SOURCES
    head_inputs = HEAD_INPUTS
    keep_outputs = KEEP_OUTPUTS

    @property
    def head(self) -> Segment | Segment26:
        head = self.model[-1]
        if not isinstance(head, (Segment, Segment26)):
            raise TypeError("last layer is not a segmentation head")
        return head
