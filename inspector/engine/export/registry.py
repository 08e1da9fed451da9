"""What an export is asked for and what it reports, and the exporters keyed by format."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from inspector.engine.export.onnx import write_onnx
from inspector.engine.export.openvino import write_openvino
from inspector.engine.export.tensorrt import export_tensorrt
from inspector.engine.refine.export import export_sam


@dataclass(frozen=True)
class ExportRequest:
    source: Path  # an ultralytics checkpoint or inspector model (an eager network)
    output: Path  # the file (or, for OpenVINO, the .xml) to write
    imgsz: tuple[int, int] | None  # fixed input (h, w) as asked; None: the trained size
    frame: tuple[int, int] | None  # the camera's frame (h, w): a rectangular input that fits it
    batch: int
    half: bool  # fp16 weights/engine (TensorRT, OpenVINO f16)
    int8_calib: Path | None  # a folder of the line's own images: int8 post-training quantisation
    end2end: bool | None  # YOLO26: the one-to-one head (None: as the checkpoint says)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float  # of the raw head outputs vs the source model, on the same input
    detail: str  # e.g. "yolov8-seg n, 480x640, batch 1, f32"


Exporter = Callable[[ExportRequest], ExportResult]

EXPORTERS: Mapping[str, Exporter] = {
    "onnx": write_onnx,  # fixed-shape float32 graph, checked with ONNX Runtime
    "tensorrt": export_tensorrt,  # ONNX, then a plan for this machine's GPU with ultralytics' header
    "openvino": write_openvino,  # OpenVINO IR (f32, --half fp16 weights, --int8 NNCF-quantised)
}

# Models of other architectures than the ultralytics families (``--arch NAME``), keyed by that
# name; each reads the export command's options it needs and writes what its runtime loads.
ArchExporter = Callable[[argparse.Namespace], ExportResult]

ARCH_EXPORTERS: Mapping[str, ArchExporter] = {
    "sam": export_sam,  # SAM-family .pt → a folder with encoder.onnx, decoder.onnx and sam.json
}
