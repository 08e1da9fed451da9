"""YOLO11-seg assembled from its parts, layer for layer as ultralytics' ``yolo11-seg.yaml``."""

from __future__ import annotations

from torch import nn

from inspector.engine.families.blocks import C2PSA, C3k2
from inspector.engine.families.heads import Segment11
from inspector.engine.families.network import C3K_SCALES, N_MASKS, SCALES, LayerGraphNetwork
from inspector.engine.layers import SPPF, Concat, Conv
from inspector.engine.model import channels, repeats


def build_layers(nc: int, scale: str) -> list[nn.Module]:
    """The 24 layers of yolo11-seg for one scale; comments give the yaml index."""
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
        SPPF(c1024, c1024, 5),  # 9
        C2PSA(c1024, n),  # 10
        up(),  # 11
        Concat(),  # 12 (+6)
        c3k2(c1024 + c512, c512, False),  # 13
        up(),  # 14
        Concat(),  # 15 (+4)
        c3k2(c512 + c512, c256, False),  # 16 P3 out
        Conv(c256, c256, 3, 2),  # 17
        Concat(),  # 18 (+13)
        c3k2(c256 + c512, c512, False),  # 19 P4 out
        Conv(c512, c512, 3, 2),  # 20
        Concat(),  # 21 (+10)
        c3k2(c512 + c1024, c1024, True),  # 22 P5 out
        Segment11(nc, N_MASKS, channels(256, s), (c256, c512, c1024)),  # 23
    ]


class Yolo11Seg(LayerGraphNetwork):
    """YOLO11-seg: image batch (B, 3, H, W) in [0, 1] → (predictions (B, 4+nc+32, A), prototypes)."""

    arch = "yolo11-seg"

    def __init__(self, nc: int, scale: str) -> None:
        super().__init__(build_layers(nc, scale), nc, scale)
