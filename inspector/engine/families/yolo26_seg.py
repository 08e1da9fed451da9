"""YOLO26-seg assembled from its parts, layer for layer as ultralytics' ``yolo26-seg.yaml``.

Differences from YOLO11-seg: SPPF with a residual (unactivated 1x1 in), C3k inner blocks in the
whole neck, attention inside the last C3k2, and the ``Segment26`` head (see ``heads``).
"""

from __future__ import annotations

from torch import nn

from inspector.engine.families.blocks import C2PSA, C3k2, SPPFResidual
from inspector.engine.families.heads import Segment26
from inspector.engine.families.network import C3K_SCALES, N_MASKS, SCALES, LayerGraphNetwork
from inspector.engine.layers import Concat, Conv, fuse_all
from inspector.engine.model import channels, repeats


def build_layers(nc: int, scale: str, end2end: bool) -> list[nn.Module]:
    """The 24 layers of yolo26-seg for one scale; comments give the yaml index."""
    s = SCALES[scale]
    c64, c128, c256, c512, c1024 = (channels(c, s) for c in (64, 128, 256, 512, 1024))
    n = repeats(2, s)
    forced = scale in C3K_SCALES

    def c3k2(c_in: int, c_out: int, c3k: bool, e: float = 0.5) -> C3k2:
        return C3k2(c_in, c_out, n, c3k or forced, e)

    def up() -> nn.Module:
        return nn.Upsample(scale_factor=2.0, mode="nearest")

    return [
        Conv(3, c64, 3, 2),  # 0 P1/2
        Conv(c64, c128, 3, 2),  # 1 P2/4
        c3k2(c128, c256, False, 0.25),  # 2
        Conv(c256, c256, 3, 2),  # 3 P3/8
        c3k2(c256, c512, False, 0.25),  # 4
        Conv(c512, c512, 3, 2),  # 5 P4/16
        c3k2(c512, c512, True),  # 6
        Conv(c512, c1024, 3, 2),  # 7 P5/32
        c3k2(c1024, c1024, True),  # 8
        SPPFResidual(c1024, 5, 3),  # 9
        C2PSA(c1024, n),  # 10
        up(),  # 11
        Concat(),  # 12 (+6)
        c3k2(c1024 + c512, c512, True),  # 13
        up(),  # 14
        Concat(),  # 15 (+4)
        c3k2(c512 + c512, c256, True),  # 16 P3 out
        Conv(c256, c256, 3, 2),  # 17
        Concat(),  # 18 (+13)
        c3k2(c256 + c512, c512, True),  # 19 P4 out
        Conv(c512, c512, 3, 2),  # 20
        Concat(),  # 21 (+10)
        C3k2(c512 + c1024, c1024, 1, True, 0.5, attn=True),  # 22 P5 out (yaml repeats 1: not scaled)
        Segment26(nc, N_MASKS, channels(256, s), (c256, c512, c1024), end2end),  # 23
    ]


class Yolo26Seg(LayerGraphNetwork):
    """YOLO26-seg. ``end2end=True`` runs the one-to-one head: select with ``topk.select_end_to_end``
    (no NMS); ``False`` runs the one-to-many head, whose output is v8's and goes through NMS.
    No default: ultralytics' own default differs from what the yaml's ``end2end`` suggests (see
    the package docstring), so each caller says which head it runs."""

    arch = "yolo26-seg"

    def __init__(self, nc: int, scale: str, end2end: bool) -> None:
        super().__init__(build_layers(nc, scale, end2end), nc, scale)

    @property
    def end2end(self) -> bool:
        head = self.model[-1]
        return isinstance(head, Segment26) and head.end2end

    def fuse(self) -> Yolo26Seg:
        """Fold BatchNorm into convolutions; free the training-only semantic branch and the head
        branches ``end2end`` does not select (so a checkpoint fused by ultralytics loads strictly
        after this); returns self."""
        head = self.model[-1]
        if isinstance(head, Segment26):
            head.proto.drop_training_branch()
            head.drop_unused_branches()
        fuse_all(self)
        return self
