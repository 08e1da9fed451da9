"""Which family a checkpoint holds, decided by its own layer list (never its file name).

A family is one entry here plus its model file: the layer classes of its yaml in order, how
to build it, and whether its head has a one-to-one (NMS-free) branch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from inspector.engine.families.network import LayerGraphNetwork
from inspector.engine.families.yolo11_seg import Yolo11Seg
from inspector.engine.families.yolo26_seg import Yolo26Seg

_BACKBONE_NECK = (
    *("Conv", "Conv", "C3k2", "Conv", "C3k2", "Conv", "C3k2", "Conv", "C3k2", "SPPF", "C2PSA"),
    *("Upsample", "Concat", "C3k2", "Upsample", "Concat", "C3k2"),
    *("Conv", "Concat", "C3k2", "Conv", "Concat", "C3k2"),
)
HEAD_INDEX = len(_BACKBONE_NECK)


@dataclass(frozen=True)
class Family:
    arch: str
    layers: tuple[str, ...]  # class names of the checkpoint's ``model.model`` entries, in order
    build: Callable[[int, str, bool], LayerGraphNetwork]  # (nc, scale, end2end) -> network
    end_to_end: bool  # the head has one2one_* branches (top-k selection instead of NMS possible)


def _yolo11(nc: int, scale: str, end2end: bool) -> LayerGraphNetwork:
    return Yolo11Seg(nc, scale)


FAMILIES = (
    Family("yolo11-seg", (*_BACKBONE_NECK, "Segment"), _yolo11, end_to_end=False),
    Family("yolo26-seg", (*_BACKBONE_NECK, "Segment26"), Yolo26Seg, end_to_end=True),
)

# Stem (layer 0) output width per scale; m and l share 64 and differ in depth (see scale_of).
_SCALE_BY_STEM = {16: "n", 32: "s", 96: "x"}


def identify(layer_types: Sequence[str]) -> Family | None:
    """The family whose yaml has exactly these layer classes, or None."""
    for family in FAMILIES:
        if tuple(layer_types) == family.layers:
            return family
    return None


def scale_of(state: Mapping[str, torch.Tensor]) -> str:
    """n/s/m/l/x from the weights' shapes (fused or not); ValueError if they fit none."""
    stem = state.get("model.0.conv.weight")
    width = int(stem.shape[0]) if stem is not None else 0
    if width == 64:  # m repeats each C3k2 block once, l twice
        return "l" if any(k.startswith("model.2.m.1.") for k in state) else "m"
    if width not in _SCALE_BY_STEM:
        raise ValueError(f"a stem of {width} channels fits no scale (n/s/m/l/x)")
    return _SCALE_BY_STEM[width]


def classes_of(state: Mapping[str, torch.Tensor]) -> int:
    """Number of classes: output channels of the first level's class branch."""
    weight = state.get(f"model.{HEAD_INDEX}.cv3.0.2.weight")
    if weight is None:
        raise ValueError("the head has no class branch")
    return int(weight.shape[0])
