"""``inspector model export SRC --format onnx``: a fixed-shape ONNX graph of an eager network.

The graph's outputs are the ``Network`` contract, named as ultralytics names them: ``output0``
predictions (B, 4+nc+32, A) — xyxy for a YOLO26 one-to-one (end-to-end) head, else xywh — and
``output1`` prototypes (B, 32, H/4, W/4); the input is ``images`` (B, 3, H, W) float32 in [0, 1].
The metadata is ultralytics' (same keys, each value ``str()`` of the Python value) plus
``exporter``, so the one reader in ``backends/onnx_file.py`` serves both kinds of file.

The written graph is run with ONNX Runtime on the same input as the source module, and the
largest difference of the raw outputs is reported; the file replaces ``request.output`` only
after that check.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from inspector.engine.backends.extras import require
from inspector.engine.checkpoint import reason_of
from inspector.engine.formats import FileKind, sniff
from inspector.engine.letterbox import check_imgsz, rect_input
from inspector.engine.loaders import LoadedModel, ModelInfo, load_model
from inspector.engine.torchscript import ScriptedSegmenter
from inspector.errors import ModelError

if TYPE_CHECKING:  # the registry imports this module: its types are read lazily
    from inspector.engine.export.registry import ExportRequest, ExportResult

OPSET = 17  # read by ONNX Runtime, OpenVINO and TensorRT 8.6+ alike
INPUT_NAME = "images"
OUTPUT_NAMES = ("output0", "output1")
PRETTY = {"yolov8-seg": "YOLOv8", "yolo11-seg": "YOLO11", "yolo26-seg": "YOLO26"}
EXPORT_SEED = 0  # the check input is the same on every run


def pretty_name(info: ModelInfo) -> str:
    """'YOLO11n-seg', as ultralytics names the model in an export's description."""
    return f"{PRETTY.get(info.arch, info.arch)}{info.scale if info.scale != '?' else ''}-seg"


def load_source(source: Path, end2end: bool | None) -> LoadedModel:
    """The eager network to export; an export (TorchScript, ONNX, IR, engine) is refused by name:
    it holds a traced graph, not the network the exporter rebuilds."""
    kind = sniff(source)
    if kind is not FileKind.TORCH:
        raise ModelError(
            f"cannot export {source}: it is {kind.described}, already an export; "
            "export from the checkpoint (best.pt) or inspector model it was made from"
        )
    loaded = load_model(source, torch.device("cpu"), end2end)
    if isinstance(loaded.module, ScriptedSegmenter):
        raise ModelError(
            f"cannot export {source}: it is a TorchScript export, a traced graph; "
            "export from the checkpoint (best.pt) or inspector model it was made from"
        )
    return loaded


def export_hw(request: ExportRequest, info: ModelInfo) -> tuple[int, int]:
    """The graph's fixed (h, w): ``--frame`` gives a rectangle fitting the camera (its long side
    the ``--imgsz`` side or the trained size), else ``--imgsz`` or the trained size, each side a
    stride multiple."""
    if request.frame is not None:
        side = max(request.imgsz or info.imgsz)
        return rect_input(request.frame, side, info.stride)
    h, w = request.imgsz or info.imgsz
    return check_imgsz(h, info.stride), check_imgsz(w, info.stride)


def check_input(batch: int, hw: tuple[int, int]) -> torch.Tensor:
    """Smooth random images in [0, 1]: the same on every run, and activations stay varied."""
    generator = torch.Generator().manual_seed(EXPORT_SEED)
    coarse = torch.rand((batch, 3, max(hw[0] // 8, 1), max(hw[1] // 8, 1)), generator=generator)
    return nn.functional.interpolate(coarse, size=hw, mode="bilinear", align_corners=False).contiguous()


def inspector_version() -> str:
    try:
        return importlib.metadata.version("inspector")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def metadata(info: ModelInfo, hw: tuple[int, int], batch: int, source: Path) -> dict[str, Any]:
    """ultralytics' keys and values (``str()`` of each is written), plus ``exporter``."""
    return {
        "description": f"inspector export of {pretty_name(info)} ({info.nc} classes) from {source.name}",
        "author": "inspector",
        "exporter": f"inspector {inspector_version()}",
        "stride": info.stride,
        "task": "segment",
        "head": "Segment26" if info.arch == "yolo26-seg" else "Segment",
        "batch": batch,
        "imgsz": list(hw),
        "names": dict(enumerate(info.names)),
        "args": {"batch": batch, "half": False, "dynamic": False, "nms": False, "opset": OPSET},
        "channels": 3,
        "end2end": info.end2end,
    }


def trace_to_onnx(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    """The legacy (TorchScript-based) exporter: a fixed-shape trace, as ultralytics exports; the
    box decoding reads the input size, which is fixed in this graph by design."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter": chosen on purpose
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape reads become constants
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            do_constant_folding=True,
        )


def add_metadata(path: Path, meta: dict[str, Any]) -> None:
    onnx = require("onnx", "export")
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, str(path))


def max_abs_diff(path: Path, module: nn.Module, example: torch.Tensor) -> float:
    """Largest difference of the raw outputs: the written file run by ONNX Runtime vs ``module``."""
    ort = require("onnxruntime", "onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(torch.get_num_threads(), 1)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: example.numpy()})
    with torch.no_grad():
        want = module(example)
    return max(float((torch.from_numpy(g) - w).abs().max()) for g, w in zip(got, want, strict=True))


def write_onnx(request: ExportRequest) -> ExportResult:
    """Export ``request.source``; the file replaces ``request.output`` only once it checked out."""
    from inspector.engine.export.registry import ExportResult

    if request.half or request.int8_calib is not None:
        raise ModelError("--format onnx writes float32 only; --half and --int8 are for openvino and tensorrt")
    loaded = load_source(request.source, request.end2end)
    info, module = loaded.info, loaded.module.eval()
    hw = export_hw(request, info)
    example = check_input(request.batch, hw)
    tmp = request.output.with_name(f".{request.output.name}.tmp")
    try:
        trace_to_onnx(module, example, tmp)
        add_metadata(tmp, metadata(info, hw, request.batch, request.source))
        diff = max_abs_diff(tmp, module, example)
        tmp.replace(request.output)
    except OSError as exc:
        raise ModelError(f"cannot write {request.output}: {reason_of(exc)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    head = ", end-to-end" if info.end2end else ""
    detail = f"{info.arch} {info.scale}{head}, {hw[0]}x{hw[1]}, batch {request.batch}, f32, opset {OPSET}"
    return ExportResult(path=request.output, max_abs_diff=diff, detail=detail)
