"""What an export is asked for and what it reports, and the exporters keyed by format."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from inspector.engine.export.hf import export_hf
from inspector.engine.export.maskrcnn import export_maskrcnn
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
    arch: str | None = None  # --arch: a non-YOLO source (Mask R-CNN state_dict, transformers folder)
    names: tuple[str, ...] | None = None  # --names: class names in id order
    format: str = "onnx"  # what an --arch exporter writes: onnx or openvino
    settings: tuple[tuple[str, float], ...] = ()  # --setting NAME=VALUE: torchvision test-time settings


@dataclass(frozen=True)
class ExportResult:
    path: Path
    max_abs_diff: float  # of the raw head outputs vs the source model, on the same input
    detail: str  # e.g. "yolov8-seg n, 480x640, batch 1, f32"
    checks: tuple[str, ...] = ()  # further lines of the export's own check (an --arch export's parity)


Exporter = Callable[[ExportRequest], ExportResult]

EXPORTERS: Mapping[str, Exporter] = {
    "onnx": write_onnx,  # fixed-shape float32 graph, checked with ONNX Runtime
    "tensorrt": export_tensorrt,  # ONNX, then a plan for this machine's GPU with ultralytics' header
    "openvino": write_openvino,  # OpenVINO IR (f32, --half fp16 weights, --int8 NNCF-quantised)
}

# --arch: sources that are not YOLO checkpoints, each writing onnx or openvino (``request.format``).
ARCH_EXPORTERS: Mapping[str, Exporter] = {
    "maskrcnn_resnet50_fpn": export_maskrcnn,  # torchvision state_dict, v1
    "maskrcnn_resnet50_fpn_v2": export_maskrcnn,  # torchvision state_dict, v2
    "segformer": export_hf,  # transformers folder, SegformerForSemanticSegmentation
    "detr": export_hf,  # transformers folder, DetrForSegmentation (panoptic)
}

# --arch exports that write a folder of files (not one model file), keyed by the --arch name;
# each reads the export command's options it needs and writes what its runtime loads.
ArchExporter = Callable[[argparse.Namespace], ExportResult]

FOLDER_EXPORTERS: Mapping[str, ArchExporter] = {
    "sam": export_sam,  # SAM-family .pt → a folder with encoder.onnx, decoder.onnx and sam.json
}
