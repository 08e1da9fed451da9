"""The architectures the engine runs besides the ultralytics YOLO families, in one place.

An arch is a ``recognise`` (does this exported file hold it: its ``arch`` metadata, or a
signature such as torchvision's standard Mask R-CNN export) and an ``open`` (the file, the
engine config and the device to an ``ArchEngine``). The engine's loader asks ``recognise``
first: a file no arch claims is a YOLO export or checkpoint, run by ``Engine``
(``inspector.engine.families`` lists those). Adding an arch is its module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from inspector.engine.archs.base import ArchEngine
from inspector.engine.archs.detr import ARCHS as DETR_ARCHS
from inspector.engine.archs.detr import open_detr
from inspector.engine.archs.files import ArchFile, read_arch_file
from inspector.engine.archs.maskrcnn import ARCHS as MASKRCNN_ARCHS
from inspector.engine.archs.maskrcnn import open_maskrcnn
from inspector.engine.archs.maskrcnn import recognise as is_maskrcnn
from inspector.engine.archs.segformer import ARCHS as SEGFORMER_ARCHS
from inspector.engine.archs.segformer import open_segformer
from inspector.engine.config import EngineConfig
from inspector.errors import ModelError

OpenArch = Callable[[ArchFile, EngineConfig, torch.device], ArchEngine]


@dataclass(frozen=True)
class Arch:
    name: str  # the family, as the README's table names it
    archs: tuple[str, ...]  # the ``arch`` metadata values its exports carry
    recognise: Callable[[ArchFile], bool]
    open: OpenArch
    runs_on: str  # what the README and errors say


ARCHS: tuple[Arch, ...] = (
    Arch("Mask R-CNN", MASKRCNN_ARCHS, is_maskrcnn, open_maskrcnn, "onnxruntime, openvino"),
    Arch(
        "SegFormer",
        SEGFORMER_ARCHS,
        lambda f: f.arch in SEGFORMER_ARCHS,
        open_segformer,
        "onnxruntime, openvino",
    ),
    Arch("DETR panoptic", DETR_ARCHS, lambda f: f.arch in DETR_ARCHS, open_detr, "onnxruntime, openvino"),
)
KNOWN = tuple(a for arch in ARCHS for a in arch.archs)


def recognise(path: Path) -> tuple[Arch, ArchFile] | None:
    """The arch that runs the file at ``path``; None for a file of the YOLO families."""
    file = read_arch_file(path)
    if file is None:
        return None
    for arch in ARCHS:
        if arch.recognise(file):
            return arch, file
    if file.arch and str(file.metadata.get("exporter", "")).startswith("inspector"):
        raise ModelError(
            f"model file {path}: its architecture {file.arch!r} is not one this inspector knows "
            f"(it knows {', '.join(KNOWN)} and the YOLO segmentation families)"
        )
    return None


def open_arch_engine(path: Path, config: EngineConfig, device: torch.device) -> ArchEngine | None:
    """The engine for a non-YOLO file (not warmed up), or None for a YOLO file."""
    found = recognise(path)
    if found is None:
        return None
    arch, file = found
    return arch.open(file, config, device)
