"""TorchScript files exported by ultralytics (``format=torchscript``).

The archive's ``config.txt`` (JSON written by the exporter) gives names, stride and the
fixed input size the graph was traced at; the engine letterboxes to exactly that size.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector.engine.checkpoint import imgsz_of, names_of, reason_of
from inspector.engine.families.registry import yolov8_scale
from inspector.errors import ModelError

JIT_LOAD_DEPRECATION = r"`torch\.jit\.load` is (deprecated|not supported)"


class ScriptedSegmenter(nn.Module):
    """Wraps an exported graph so it returns (predictions, prototypes) like ``SegmentationModel``."""

    def __init__(self, script: torch.jit.ScriptModule, batch: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.script = script
        self.batch = batch  # traced batch size; the engine feeds at most this many frames per call
        self.dtype = dtype  # traced precision: constants in the graph have it, so inputs must too

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.script(x)
        preds, protos = out[0], out[1]
        if isinstance(preds, (tuple, list)):
            preds = preds[0]
        return preds, protos


def read_metadata(path: Path, config_text: str) -> dict[str, Any]:
    try:
        meta = json.loads(config_text) if config_text else {}
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested past the parser
        raise ModelError(f"model file {path}: its config.txt is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or not meta:
        raise ModelError(
            f"model file {path}: a TorchScript file without ultralytics metadata (config.txt); "
            "export it with ultralytics (format=torchscript)"
        )
    if meta.get("task", "segment") != "segment":
        raise ModelError(f"model file {path}: a '{meta.get('task')}' model, a segment model is needed")
    args = meta.get("args") or {}
    if isinstance(args, dict) and args.get("nms"):
        raise ModelError(
            f"model file {path}: exported with nms=True, which is not supported; export without it"
        )
    return meta


def scale_of(script: torch.jit.ScriptModule) -> str:
    """n/s/m/l/x from the stem convolution's width ('?' for a graph that is not YOLOv8-seg)."""
    try:
        return yolov8_scale(dict(script.named_parameters()))
    except ValueError:
        return "?"


@dataclass(frozen=True)
class ExportMetadata:
    """What the exporter's config.txt says about the graph."""

    names: tuple[str, ...]
    imgsz: tuple[int, int]
    stride: int
    batch: int
    version: str


def export_metadata(path: Path, meta: dict[str, Any]) -> ExportMetadata:
    """Typed fields of config.txt; a malformed value is a ModelError naming the file."""
    try:
        names_raw = meta.get("names", {})
        if isinstance(names_raw, dict):
            names_raw = {int(k): v for k, v in names_raw.items()}
        imgsz = meta.get("imgsz", 640)
        sides = imgsz if isinstance(imgsz, list) else [imgsz]
        if len(sides) not in (1, 2) or not all(isinstance(side, int) and side > 0 for side in sides):
            # the graph was traced at this size: a guessed one would fail at the first frame
            raise ValueError(f"imgsz {imgsz!r:.40} is not an input size")
        return ExportMetadata(
            names=names_of(names_raw, len(names_raw)),
            imgsz=imgsz_of(imgsz),
            stride=int(meta.get("stride", 32)),
            batch=int(meta.get("batch", 1) or 1),
            version=str(meta.get("version", "")),
        )
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"model file {path}: its config.txt metadata is malformed ({reason_of(exc)}); "
            "export it again with ultralytics (format=torchscript)"
        ) from None


def load_torchscript(path: Path, device: torch.device | None = None) -> Any:
    """A ``LoadedModel`` for an ultralytics TorchScript export, loaded straight onto ``device``
    (constants traced into the graph, such as anchors, move with it)."""
    from inspector.engine.loaders import LoadedModel, ModelInfo

    extra = {"config.txt": ""}
    try:
        with warnings.catch_warnings():
            # Loading a user's export is the supported use; torch's deprecation notice is not the
            # user's to act on (it would print on every daemon start). Other warnings still show.
            warnings.filterwarnings("ignore", JIT_LOAD_DEPRECATION, FutureWarning)
            script = torch.jit.load(str(path), map_location=device or "cpu", _extra_files=extra)
    except Exception as exc:  # untrusted bytes: whatever breaks, the user gets one clear line
        raise ModelError(
            f"model file {path}: TorchScript archive cannot be loaded ({reason_of(exc)}); "
            "expected an ultralytics TorchScript export (format=torchscript)"
        ) from None
    meta = export_metadata(path, read_metadata(path, extra["config.txt"]))
    params = sum(p.numel() for p in script.parameters())
    first = next(iter(script.parameters()), None)
    info = ModelInfo(
        path=str(path),
        format="torchscript",
        arch="yolov8-seg",
        scale=scale_of(script),
        nc=len(meta.names),
        names=meta.names,
        params=int(params),
        imgsz=meta.imgsz,
        stride=meta.stride,
        fixed_imgsz=True,
        weights_dtype=str(first.dtype).removeprefix("torch.") if first is not None else "unknown",
        extra={"ultralytics_version": meta.version},
    )
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    module = ScriptedSegmenter(script.eval(), batch=meta.batch, dtype=dtype)
    return LoadedModel(module, info)
