"""TorchScript files exported by ultralytics (``format=torchscript``).

The archive's ``config.txt`` (JSON written by the exporter) gives names, stride and the
fixed input size the graph was traced at; the engine letterboxes to exactly that size.

Family: ultralytics 8.4 writes the head's class (``head``: ``Segment`` for v8 and YOLO11,
``Segment26`` for YOLO26) and ``end2end``; v8 and YOLO11 are told apart by YOLO11's C2PSA
attention weights (``.attn.qkv.``). Older exports without ``head`` predate YOLO26; there
the one-to-one branch names say YOLO26. A default export (``nms=None``) of YOLO26 holds the
one-to-many head: output (B, 4+nc+nm, A) and NMS, as v8. An end-to-end export (``nms=False``,
``end2end: true``) returns (B, 300, 6+nm) rows, already the head's top-k (x1, y1, x2, y2,
score, class, coefficients, best first); only predict's conf/class/max_det filter is left.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector.engine.checkpoint import reason_of
from inspector.engine.exported import checked_metadata, export_metadata, rows_as_pairs
from inspector.engine.families.registry import c3k2_scale, yolov8_scale
from inspector.errors import ModelError

HOW = "ultralytics (format=torchscript)"
JIT_LOAD_DEPRECATION = r"`torch\.jit\.load` is (deprecated|not supported)"


class ScriptedSegmenter(nn.Module):
    """Wraps an exported graph so it returns (predictions, prototypes) like ``SegmentationModel``."""

    def __init__(
        self, script: torch.jit.ScriptModule, batch: int, dtype: torch.dtype, end2end_classes: int = 0
    ) -> None:
        super().__init__()
        self.script = script
        self.batch = batch  # traced batch size; the engine feeds at most this many frames per call
        self.dtype = dtype  # traced precision: constants in the graph have it, so inputs must too
        self.end2end_classes = end2end_classes  # nc of an end-to-end export's ready rows; 0: none

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.script(x)
        preds, protos = out[0], out[1]
        if isinstance(preds, (tuple, list)):
            preds = preds[0]
        if self.end2end_classes:
            preds = rows_as_pairs(preds, self.end2end_classes)
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
    return checked_metadata(path, meta, HOW)


def arch_of(head: str, names: set[str]) -> str:
    """The family from config.txt's ``head`` and the graph's parameter names."""
    if head == "Segment26" or (not head and any(".one2one_cv" in name for name in names)):
        return "yolo26-seg"
    return "yolo11-seg" if any(".attn.qkv." in name for name in names) else "yolov8-seg"


def scale_of(script: torch.jit.ScriptModule, arch: str) -> str:
    """n/s/m/l/x from the stem convolution's width (and C3k2 depth); '?' when none fits."""
    try:
        state = dict(script.named_parameters())
        return yolov8_scale(state) if arch == "yolov8-seg" else c3k2_scale(state)
    except ValueError:
        return "?"


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
    meta = export_metadata(path, read_metadata(path, extra["config.txt"]), HOW)
    params = sum(p.numel() for p in script.parameters())
    first = next(iter(script.parameters()), None)
    arch = arch_of(meta.head, {name for name, _ in script.named_parameters()})
    info = ModelInfo(
        path=str(path),
        format="torchscript",
        arch=arch,
        scale=scale_of(script, arch),
        nc=len(meta.names),
        names=meta.names,
        params=int(params),
        imgsz=meta.imgsz,
        stride=meta.stride,
        fixed_imgsz=True,
        weights_dtype=str(first.dtype).removeprefix("torch.") if first is not None else "unknown",
        extra={"ultralytics_version": meta.version},
        end2end=meta.end2end,
    )
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    nc = len(meta.names) if meta.end2end else 0
    module = ScriptedSegmenter(script.eval(), batch=meta.batch, dtype=dtype, end2end_classes=nc)
    return LoadedModel(module, info)
