"""``inspector model export SRC --format tensorrt [--half] [--int8 --calib DIR]``: a TensorRT plan
for the GPU of this machine, with ultralytics' metadata header (so ultralytics and inspector both
read it) plus what the plan is valid for (TensorRT version, GPU, precision).

The ONNX graph is written first (``export.onnx.write_onnx``, float32), the plan built from it in
the asked precision (fp32 by default, fp16 with ``--half``, int8 with ``--int8``), then run on the
same input as the source model on this GPU: the largest raw-output difference is reported. The
file replaces ``request.output`` only after that check.

int8 uses TensorRT 10's entropy calibrator on the line's own images (``--calib DIR``), letterboxed
as the engine letterboxes frames. TensorRT 11 removed implicit int8 calibration (quantization
there is explicit, in the ONNX graph); there ``--int8`` is refused, saying so.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from inspector.engine.backends.extras import require
from inspector.engine.backends.tensorrt import open_plan_file
from inspector.engine.backends.tensorrt_build import build_plan, capturing_logger, gpu_identity, onnx_facts
from inspector.engine.backends.tensorrt_plan import PlanKey, file_sha256, plan_metadata, write_plan
from inspector.engine.letterbox import apply_letterbox, plan_letterbox
from inspector.errors import ModelError

if TYPE_CHECKING:  # the registry imports this module: its types are read lazily
    from inspector.engine.export.registry import ExportRequest, ExportResult

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
MAX_CALIB_IMAGES = 512  # TensorRT suggests ~500 calibration images; more adds time, not accuracy
WORKSPACE_MIB = 4096  # an export runs once, on a machine chosen for it: room for the fastest tactics


def calibration_images(folder: Path, hw: tuple[int, int], stride: int) -> list[np.ndarray]:
    """The folder's images letterboxed to ``hw`` as the engine does, RGB float32 CHW in [0, 1]."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:MAX_CALIB_IMAGES]
    images = []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ModelError(f"--calib {folder}: {path.name} is not a readable image")
        boxed = apply_letterbox(image, plan_letterbox(image.shape[:2], hw, False, stride))
        images.append(np.ascontiguousarray(boxed[..., ::-1].transpose(2, 0, 1), dtype=np.float32) / 255.0)
    return images


def entropy_calibrator(trt: Any, images: list[np.ndarray], batch: int, device: torch.device) -> Any:
    """A TensorRT 10 ``IInt8EntropyCalibrator2`` feeding ``images`` in batches of ``batch``."""

    class Calibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.next = 0
            self.current: torch.Tensor | None = None  # alive while TensorRT reads it

        def get_batch_size(self) -> int:
            return batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self.next + batch > len(images):
                return None
            chunk = np.stack(images[self.next : self.next + batch])
            self.next += batch
            self.current = torch.from_numpy(chunk).to(device).contiguous()
            return [int(self.current.data_ptr())]

        def read_calibration_cache(self) -> bytes | None:
            return None  # calibrate on this model and these images every time

        def write_calibration_cache(self, cache: Any) -> None:
            return None

    return Calibrator()


def plan_precision(trt: Any, request: ExportRequest) -> str:
    if request.int8_calib is None:
        return "fp16" if request.half else "fp32"
    if not (hasattr(trt, "IInt8EntropyCalibrator2") and hasattr(trt.BuilderFlag, "INT8")):
        raise ModelError(
            f"--int8 with --format tensorrt needs TensorRT 10's int8 calibrator, which TensorRT "
            f"{trt.__version__} no longer has (its int8 is explicit quantization in the ONNX graph); "
            "use --half, or install TensorRT 10"
        )
    return "int8"


def raw_difference(network: Any, request: ExportRequest, example: torch.Tensor) -> float:
    """Largest difference of the raw outputs: the plan on this GPU vs the source model in fp32 on
    the CPU (exact fp32: torch's CUDA convolutions may use TF32)."""
    from inspector.engine.export.onnx import load_source

    module = load_source(request.source, request.end2end).module.eval()
    with torch.inference_mode():
        want = module(example)
        got = network(example.to(network.device, network.dtype))
        return max(float((g.float().cpu() - w).abs().max()) for g, w in zip(got, want, strict=True))


def export_tensorrt(request: ExportRequest) -> ExportResult:
    """Write ONNX, build the plan for this GPU, check it against the source model, then save it."""
    if not torch.cuda.is_available():
        raise ModelError(
            "--format tensorrt builds a plan for the GPU it will run on and needs a CUDA GPU here; on "
            "this machine export --format onnx and let engine.backend tensorrt build the plan at first start"
        )
    trt = require("tensorrt", "tensorrt")
    from inspector.engine.export.onnx import check_input, inspector_version, write_onnx
    from inspector.engine.export.registry import ExportResult

    device = torch.device("cuda", torch.cuda.current_device())
    precision = plan_precision(trt, request)
    with tempfile.TemporaryDirectory(prefix=".tensorrt-export-", dir=request.output.parent) as tmp:
        onnx_path = Path(tmp) / f"{request.output.stem}.onnx"
        write_onnx(replace(request, output=onnx_path, half=False, int8_calib=None))
        facts = onnx_facts(onnx_path)
        hw = (facts.input_shape[2], facts.input_shape[3])
        gpu, cc = gpu_identity(device)
        key = PlanKey(gpu, cc, str(trt.__version__), file_sha256(onnx_path), facts.input_shape, precision)
        calibrator = None
        if request.int8_calib is not None:
            images = calibration_images(request.int8_calib, hw, int(facts.metadata.get("stride", 32)))
            if len(images) < request.batch:
                raise ModelError(
                    f"--calib {request.int8_calib}: {len(images)} image(s), need at least {request.batch}"
                )
            calibrator = entropy_calibrator(trt, images, request.batch, device)
        logger = capturing_logger(trt)
        with torch.cuda.device(device):
            plan = build_plan(trt, logger, onnx_path, precision, WORKSPACE_MIB, facts, calibrator)
        staged = Path(tmp) / "plan.engine"
        write_plan(staged, plan_metadata(facts.metadata, key, f"inspector {inspector_version()}"), plan)
        network = open_plan_file(trt, staged, device, precision)
        diff = raw_difference(network, request, check_input(request.batch, hw))
        del network
        staged.replace(request.output)
    detail = f"{precision} plan, {hw[0]}x{hw[1]}, batch {request.batch}, TensorRT {trt.__version__}, {gpu}"
    return ExportResult(path=request.output, max_abs_diff=diff, detail=detail)
