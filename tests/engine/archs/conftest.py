"""Session-wide model files of the non-YOLO archs, built from random weights into temp folders
(nothing large is committed; each file is made once per test session, on first use)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from torch import nn

from inspector.engine.export.registry import ARCH_EXPORTERS, ExportRequest, ExportResult
from tests.support.archs import (
    DETR_HW,
    MASKRCNN_HW,
    NAMES,
    SEGFORMER_HW,
    detr_folder,
    maskrcnn_model,
    require,
    segformer_folder,
)


@dataclass(frozen=True)
class Exported:
    source: Path  # the state_dict .pth or the transformers folder
    path: Path  # the written .onnx / .xml
    result: ExportResult
    reference: nn.Module | None = None  # the eager module with the same weights (Mask R-CNN)


# v2 at 300 proposals (torchvision's default 1000): its four-conv box head runs on each, ~2 s an
# image here at 1000; the setting also goes through the export and its check as a user's would
V2_SETTINGS = (("rpn_post_nms_top_n_test", 300.0),)


def export(
    source: Path,
    out: Path,
    arch: str,
    fmt: str,
    hw: tuple[int, int],
    settings: tuple[tuple[str, float], ...] = (),
) -> ExportResult:
    request = ExportRequest(
        source, out, hw, None, 1, False, None, None, arch=arch, names=NAMES, format=fmt, settings=settings
    )
    return ARCH_EXPORTERS[arch](request)


@pytest.fixture(scope="session")
def maskrcnn_export(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bool, str], Exported]:
    """``maskrcnn_export(v2, "onnx" | "openvino")``: a random Mask R-CNN (detections patched in)
    saved as a state_dict and exported by ``inspector model export --arch`` at 240x320 (v2 with
    ``V2_SETTINGS``, its eager reference too)."""
    made: dict[tuple[bool, str], Exported] = {}
    models: dict[bool, tuple[nn.Module, Path]] = {}

    def build(v2: bool, fmt: str) -> Exported:
        require("torchvision")
        if v2 not in models:
            import torch

            folder = tmp_path_factory.mktemp("maskrcnn")
            model = maskrcnn_model(v2, settings=V2_SETTINGS if v2 else ())
            state = folder / "model.pth"
            torch.save(model.state_dict(), state)
            models[v2] = (model, state)
        if (v2, fmt) not in made:
            model, state = models[v2]
            arch = "maskrcnn_resnet50_fpn_v2" if v2 else "maskrcnn_resnet50_fpn"
            out = state.with_name(f"model-{fmt}{'.onnx' if fmt == 'onnx' else '.xml'}")
            result = export(state, out, arch, fmt, MASKRCNN_HW, V2_SETTINGS if v2 else ())
            made[v2, fmt] = Exported(state, out, result, model)
        return made[v2, fmt]

    return build


@pytest.fixture(scope="session")
def segformer_export(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = segformer_folder(tmp_path_factory.mktemp("segformer") / "checkpoint")
    out = folder.parent / "segformer.onnx"
    return Exported(folder, out, export(folder, out, "segformer", "onnx", SEGFORMER_HW))


@pytest.fixture(scope="session")
def detr_export(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = detr_folder(tmp_path_factory.mktemp("detr") / "checkpoint")
    out = folder.parent / "detr.onnx"
    return Exported(folder, out, export(folder, out, "detr", "onnx", DETR_HW))
