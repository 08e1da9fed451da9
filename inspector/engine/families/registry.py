"""Which family a checkpoint holds, decided by its own layer list (never its file name).

A family is one entry in ``FAMILIES`` plus its model file: the layer classes of its yaml in
order, how to build it, where its head sits, how to read the scale off the weights, and
whether its head has a one-to-one (NMS-free) branch set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from inspector.engine.families.network import LayerGraphNetwork
from inspector.engine.families.yolo11_seg import Yolo11Seg
from inspector.engine.families.yolo26_seg import Yolo26Seg
from inspector.engine.model import SegmentationModel

# Layer classes of yolov8-seg.yaml, in order (checkpoint.py reads families through this registry).
YOLOV8_SEG_LAYERS = (
    *("Conv", "Conv", "C2f", "Conv", "C2f", "Conv", "C2f", "Conv", "C2f", "SPPF"),
    *("Upsample", "Concat", "C2f", "Upsample", "Concat", "C2f"),
    *("Conv", "Concat", "C2f", "Conv", "Concat", "C2f", "Segment"),
)
_YOLOV8_SCALE_BY_STEM = {16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}
_BACKBONE_NECK = (
    *("Conv", "Conv", "C3k2", "Conv", "C3k2", "Conv", "C3k2", "Conv", "C3k2", "SPPF", "C2PSA"),
    *("Upsample", "Concat", "C3k2", "Upsample", "Concat", "C3k2"),
    *("Conv", "Concat", "C3k2", "Conv", "Concat", "C3k2"),
)
State = Mapping[str, torch.Tensor]
Network = SegmentationModel | LayerGraphNetwork  # built networks: raw/decode/fuse, as the engine runs them


def stem_width(state: State) -> int:
    stem = state.get("model.0.conv.weight")
    return int(stem.shape[0]) if stem is not None else 0


def yolov8_scale(state: State) -> str:
    if stem_width(state) not in _YOLOV8_SCALE_BY_STEM:
        raise ValueError(f"a stem of {stem_width(state)} channels fits no YOLOv8 scale (n/s/m/l/x)")
    return _YOLOV8_SCALE_BY_STEM[stem_width(state)]


_C3K2_SCALE_BY_STEM = {16: "n", 32: "s", 96: "x"}


def c3k2_scale(state: State) -> str:
    """YOLO11/26 scale: m and l share a stem of 64 and differ in depth (C3k2 repeats 1 vs 2)."""
    width = stem_width(state)
    if width == 64:
        return "l" if any(k.startswith("model.2.m.1.") for k in state) else "m"
    if width not in _C3K2_SCALE_BY_STEM:
        raise ValueError(f"a stem of {width} channels fits no scale (n/s/m/l/x)")
    return _C3K2_SCALE_BY_STEM[width]


@dataclass(frozen=True)
class Family:
    arch: str
    layers: tuple[str, ...]  # class names of the checkpoint's ``model.model`` entries, in order
    build: Callable[[int, str, bool], Network]  # (nc, scale, end2end) -> unfused network
    scale_of: Callable[[State], str]  # n/s/m/l/x from the weights' shapes, fused or not; ValueError
    end_to_end: bool  # the head has one2one_* branches (top-k selection instead of NMS possible)

    @property
    def head_index(self) -> int:
        return len(self.layers) - 1

    def classes_of(self, state: State) -> int:
        """Number of classes: output channels of the first level's class branch (the one-to-one
        copy when fusing dropped the one-to-many set)."""
        head = f"model.{self.head_index}"
        weight = state.get(f"{head}.cv3.0.2.weight", state.get(f"{head}.one2one_cv3.0.2.weight"))
        if weight is None:
            raise ValueError("the head has no class branch")
        return int(weight.shape[0])


def _yolov8(nc: int, scale: str, end2end: bool) -> Network:
    return SegmentationModel(nc, scale)


def _yolo11(nc: int, scale: str, end2end: bool) -> Network:
    return Yolo11Seg(nc, scale)


FAMILIES = (
    Family("yolov8-seg", YOLOV8_SEG_LAYERS, _yolov8, yolov8_scale, end_to_end=False),
    Family("yolo11-seg", (*_BACKBONE_NECK, "Segment"), _yolo11, c3k2_scale, end_to_end=False),
    Family("yolo26-seg", (*_BACKBONE_NECK, "Segment26"), Yolo26Seg, c3k2_scale, end_to_end=True),
)


def identify(layer_types: Sequence[str]) -> Family | None:
    """The family whose yaml has exactly these layer classes, or None."""
    for family in FAMILIES:
        if tuple(layer_types) == family.layers:
            return family
    return None
