"""What the exporters of the non-YOLO archs share: the legacy ONNX exporter, the metadata the
arch registry reads (``arch``, ``names``, ``imgsz``, ``exporter``), the OpenVINO IR made from
the ONNX graph, and check images. Export-time dependencies (torchvision, transformers) are
imported by the arch exporters only, inside their functions."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from inspector.engine.archs.base import ArchEngine
from inspector.engine.archs.registry import open_arch_engine
from inspector.engine.backends.openvino_model import METADATA_SECTION, import_openvino
from inspector.engine.checkpoint import reason_of
from inspector.engine.config import EngineConfig
from inspector.engine.export.onnx import OPSET, add_metadata, inspector_version
from inspector.errors import ModelError

if TYPE_CHECKING:
    from inspector.engine.export.registry import ExportRequest

CHECK_IMAGES = 4
BACKEND = {"onnx": "onnxruntime", "openvino": "openvino"}


def require_export(module: str) -> Any:
    """An export-time package, or one clear error naming the extra that provides it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local checkpoint folder: never the network
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ModelError(
            f"this export needs the optional extra: pip install 'inspector[export]' ({module} cannot be "
            f"imported: {exc})"
        ) from None


def check_format(request: ExportRequest) -> None:
    if request.format not in BACKEND:
        raise ModelError(f"--arch {request.arch} exports to onnx or openvino, not {request.format}")
    if request.half or request.int8_calib is not None or request.batch != 1:
        raise ModelError(
            f"--arch {request.arch} writes float32, batch 1: --half, --int8 and --batch are for YOLO"
        )


def metadata(
    arch: str, names: Sequence[str], hw: tuple[int, int], source: Path, **extra: Any
) -> dict[str, Any]:
    return {
        "description": f"inspector export of {arch} ({len(names)} classes) from {source.name}",
        "author": "inspector",
        "exporter": f"inspector {inspector_version()}",
        "arch": arch,
        "task": "segment",
        "imgsz": list(hw),
        "names": dict(enumerate(names)),
        **extra,
    }


def to_onnx(
    module: nn.Module,
    example: torch.Tensor,
    path: Path,
    inputs: Sequence[str],
    outputs: Sequence[str],
    dynamic: dict[str, dict[int, str]] | None = None,
) -> None:
    """The legacy (TorchScript-based) exporter: the dynamo exporter fails on Mask R-CNN's
    data-dependent NMS; one exporter for every arch."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter(
            "ignore"
        )  # tracer notes on shape-dependent Python, deprecation of the legacy path
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=dynamic,
            do_constant_folding=True,
        )


def to_openvino(onnx_path: Path, xml: Path, meta: dict[str, Any]) -> None:
    """The ONNX graph as an OpenVINO IR (f32 weights), the metadata in its ``rt_info``."""
    ov = import_openvino()
    model = ov.Core().read_model(str(onnx_path))
    for key, value in meta.items():
        model.set_rt_info(str(value), [METADATA_SECTION, key])
    ov.save_model(model, str(xml), compress_to_fp16=False)


def write(request: ExportRequest, staged_onnx: Path, meta: dict[str, Any]) -> Path:
    """The checked export in place: ``request.output`` (the .onnx or the IR's .xml + .bin)."""
    try:
        if request.format == "onnx":
            add_metadata(staged_onnx, meta)
            staged_onnx.replace(request.output)
        else:
            to_openvino(staged_onnx, request.output, meta)
    except OSError as exc:
        raise ModelError(f"cannot write {request.output}: {reason_of(exc)}") from None
    return request.output


def engine_for(path: Path, request: ExportRequest, **options: Any) -> ArchEngine:
    config = EngineConfig(
        model=path, device="cpu", backend=BACKEND[request.format], conf=0.0, warmup=0, **options
    )  # type: ignore[arg-type]
    engine = open_arch_engine(path, config, torch.device("cpu"))
    if engine is None:
        raise ModelError(f"the export {path} was not recognised by its own metadata")
    return engine


def check_frames(hw: tuple[int, int], count: int = CHECK_IMAGES) -> list[np.ndarray]:
    """Smooth random BGR frames, the same on every run (activations stay varied)."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(count):
        coarse = rng.integers(0, 256, (max(hw[0] // 16, 2), max(hw[1] // 16, 2), 3), dtype=np.uint8)
        frames.append(np.ascontiguousarray(_resize(coarse, hw)))
    return frames


def _resize(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(image, (hw[1], hw[0]), interpolation=cv2.INTER_CUBIC)


def as_tensor(frame: np.ndarray) -> torch.Tensor:
    """A BGR uint8 frame as the engines feed it: RGB (3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frame[:, :, ::-1].transpose(2, 0, 1))).float() / 255.0
