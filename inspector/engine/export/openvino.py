"""``inspector model export SRC --format openvino``: an OpenVINO IR (.xml + .bin) of an eager
network at a fixed input size, its metadata in the model's ``rt_info`` (section ``framework``,
ultralytics' keys, each value ``str()`` of the Python value, as OpenVINO's ONNX reader stores an
ONNX file's ``metadata_props``: the backend reads both the same way).

``--half`` stores fp16 weights (``compress_to_fp16``); they run at the precision the backend is
asked for. ``--int8`` quantises with NNCF post-training quantisation on letterboxed images of the
line (``--calib DIR``) and writes the f32 IR beside it as ``<name>-f32.xml``: the backend's
start-up check compares the two. Every IR written is compiled (f32) and its raw outputs compared
with the source module on the same input: the max abs diff is reported.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from inspector import __version__
from inspector.engine.backends.extras import require
from inspector.engine.backends.openvino import F32_REFERENCE_SUFFIX
from inspector.engine.backends.openvino_model import METADATA_SECTION
from inspector.engine.backends.precision_check import warmup_frame
from inspector.engine.letterbox import apply_letterbox, check_imgsz, plan_letterbox
from inspector.engine.loaders import LoadedModel, ModelInfo, load_model
from inspector.engine.torchscript import ScriptedSegmenter
from inspector.errors import ModelError

if TYPE_CHECKING:  # the registry imports this module: its types only for checking here
    from inspector.engine.export.registry import ExportRequest, ExportResult

PRETTY = {"yolov8-seg": "YOLOv8", "yolo11-seg": "YOLO11", "yolo26-seg": "YOLO26"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
MAX_CALIBRATION_IMAGES = 300  # NNCF's own default subset size


def source_model(request: ExportRequest) -> LoadedModel:
    loaded = load_model(request.source, torch.device("cpu"), request.end2end)
    if isinstance(loaded.module, ScriptedSegmenter):
        raise ModelError(
            f"model file {request.source}: a TorchScript export; export from the checkpoint it came from "
            "(best.pt) or an inspector model"
        )
    return loaded


def input_hw(request: ExportRequest, info: ModelInfo) -> tuple[int, int]:
    """The fixed input: --imgsz, else the trained size, each side a stride multiple."""
    if request.frame is not None and request.imgsz is None:
        # TODO(rect input): the rectangular input chosen from the camera frame comes with the
        # shared letterbox helper; until then the exporter takes the size as --imgsz H,W.
        raise ModelError("--frame is not supported by --format openvino yet; give the input as --imgsz H,W")
    height, width = request.imgsz or info.imgsz
    return check_imgsz(height, info.stride), check_imgsz(width, info.stride)


def metadata(info: ModelInfo, request: ExportRequest, hw: tuple[int, int]) -> dict[str, Any]:
    """What ultralytics writes into an export, in its keys, plus who wrote it."""
    pretty = PRETTY.get(info.arch, "YOLO")
    return {
        "description": f"inspector export of {pretty}{info.scale}-seg ({Path(info.path).name})",
        "exporter": f"inspector {__version__}",
        "version": info.extra.get("ultralytics_version", ""),
        "stride": info.stride,
        "task": "segment",
        "head": "Segment26" if info.arch == "yolo26-seg" else "Segment",
        "batch": request.batch,
        "imgsz": list(hw),
        "names": dict(enumerate(info.names)),
        "end2end": info.end2end,
        "args": {"batch": request.batch, "half": request.half, "int8": request.int8_calib is not None},
    }


def as_input(images: list[np.ndarray], hw: tuple[int, int]) -> torch.Tensor:
    """BGR frames letterboxed to ``hw`` exactly as the engine does for a fixed-size export."""
    boxed = [apply_letterbox(im, plan_letterbox(im.shape[:2], hw, False, 1)) for im in images]
    batch = torch.from_numpy(np.stack(boxed)).permute(0, 3, 1, 2).flip(1)
    return batch.float().div(255.0).contiguous()


def example_input(hw: tuple[int, int], batch: int) -> torch.Tensor:
    return as_input([warmup_frame(hw, seed=i) for i in range(batch)], hw)


def convert(module: torch.nn.Module, example: torch.Tensor) -> Any:
    """The module traced at the example's fixed shape and converted by OpenVINO's PyTorch frontend
    (shape-dependent decoding, such as anchors, becomes constants). The frontend is called directly,
    not through ``openvino.convert_model``, which sends usage telemetry over the network."""
    require("openvino", "openvino")
    from openvino.frontend import FrontEndManager
    from openvino.frontend.pytorch.ts_decoder import TorchScriptPythonDecoder

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shape-dependent Python: fixed shape, expected
        traced = torch.jit.trace(module.eval(), example, strict=False, check_trace=False)
        # each object named: the frontend calls back into the decoder, which must outlive conversion
        decoder = TorchScriptPythonDecoder(traced, example_input=(example,))
        frontend = FrontEndManager().load_by_framework("pytorch")
        loaded = frontend.load(decoder)
        model = frontend.convert(loaded)
        del loaded, decoder
    model.reshape(list(example.shape))  # the fixed input the engine letterboxes to
    return model


def calibration_images(folder: Path, hw: tuple[int, int], batch: int) -> list[torch.Tensor]:
    """Letterboxed batches of the line's images (grey padding included, as at inference)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images = [im for im in (cv2.imread(str(p)) for p in files[:MAX_CALIBRATION_IMAGES]) if im is not None]
    if not images:
        raise ModelError(f"--calib {folder}: no readable images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    images += images[: (-len(images)) % batch]  # whole batches: the graph's batch is fixed
    return [as_input(images[i : i + batch], hw) for i in range(0, len(images), batch)]


def import_nncf() -> Any:
    try:
        import nncf
    except ImportError as exc:
        raise ModelError(
            f"--int8 needs the optional extra: pip install 'inspector[int8]' (nncf cannot be imported: {exc})"
        ) from None
    return nncf


def quantise(model: Any, folder: Path, hw: tuple[int, int], batch: int) -> Any:
    """NNCF post-training quantisation (the preset ultralytics uses for its own int8 exports)."""
    nncf = import_nncf()
    items = calibration_images(folder, hw, batch)
    dataset = nncf.Dataset(items, lambda x: x.numpy())
    preset = nncf.QuantizationPreset.MIXED
    return nncf.quantize(model, dataset, preset=preset, subset_size=len(items), fast_bias_correction=True)


def with_metadata(model: Any, meta: dict[str, Any]) -> Any:
    for key, value in meta.items():
        model.set_rt_info(str(value), [METADATA_SECTION, key])
    return model


def written_diff(ov: Any, path: Path, module: torch.nn.Module, example: torch.Tensor) -> float:
    """Max abs diff of the raw outputs of the written IR (compiled at f32) and the source module."""
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    out = compiled([example.numpy()])
    with torch.no_grad():
        want = module(example)
    diffs = [float((torch.from_numpy(out[i]) - want[i]).abs().max()) for i in range(2)]
    return max(diffs)


def write_openvino(request: ExportRequest) -> ExportResult:
    from inspector.engine.export.registry import ExportResult

    ov = require("openvino", "openvino")
    if request.int8_calib is not None:
        import_nncf()  # before any work: a missing extra is the first thing the user hears
    loaded = source_model(request)
    info = loaded.info
    hw = input_hw(request, info)
    example = example_input(hw, request.batch)
    model = with_metadata(convert(loaded.module, example), metadata(info, request, hw))
    out = request.output
    if request.int8_calib is not None:
        f32_twin = out.with_name(out.stem + F32_REFERENCE_SUFFIX + ".xml")
        ov.save_model(model, str(f32_twin), compress_to_fp16=request.half)
        model = quantise(model, request.int8_calib, hw, request.batch)
    ov.save_model(model, str(out), compress_to_fp16=request.half)
    diff = written_diff(ov, out, loaded.module, example)
    weights = "int8" if request.int8_calib is not None else "f16" if request.half else "f32"
    detail = f"{info.arch} {info.scale}, {hw[0]}x{hw[1]}, batch {request.batch}, {weights} weights"
    return ExportResult(out, diff, detail)
