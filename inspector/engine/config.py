"""Config section for the engine stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from inspector.engine.archs.options import PanopticOptions, SemanticOptions
from inspector.engine.backends.options import OnnxRuntimeOptions, OpenVinoOptions, TensorRtOptions
from inspector.engine.refine.config import RefineConfig
from inspector.section import Section

Coordinate = Annotated[float, Field(ge=0.0, le=100_000.0)]


class PromptConfig(Section):
    """Keep only the instances a fixed region of interest picks, as FastSAM's box/point prompts do
    (pixels of the original frame). Text prompts need CLIP and are not supported."""

    boxes: tuple[tuple[Coordinate, Coordinate, Coordinate, Coordinate], ...] = Field(
        (),
        max_length=64,
        description="Boxes [x1, y1, x2, y2]: each keeps the one instance whose mask has the highest IoU "
        "with it.",
    )
    points: tuple[tuple[Coordinate, Coordinate, Annotated[int, Field(ge=0, le=1)]], ...] = Field(
        (),
        max_length=64,
        description="Points [x, y, label]: keep instances under a label-1 point (all if every label is 0) "
        "and under no label-0 point.",
    )


class EngineConfig(Section):
    """Segmentation model and inference options."""

    model: Path | None = Field(
        None,
        description="Model file: ultralytics best.pt, inspector model, TorchScript export, an ONNX / "
        "OpenVINO / TensorRT export, or a Mask R-CNN / SegFormer / DETR export of "
        "`inspector model export --arch`. "
        "Empty = the shipped demo model (inspector/models/demo-pcb-seg.pt).",
    )
    backend: Literal["auto", "torch", "onnxruntime", "openvino", "tensorrt"] = Field(
        "auto",
        description="What runs the network: auto (by the model file and device: torch for .pt and "
        "TorchScript, ONNX Runtime for ONNX on CPU, TensorRT for ONNX on a GPU, OpenVINO for an IR, "
        "TensorRT for an engine), torch, onnxruntime, openvino or tensorrt (each but torch an extra).",
    )
    onnxruntime: OnnxRuntimeOptions = Field(
        default_factory=OnnxRuntimeOptions, description="ONNX Runtime options."
    )
    openvino: OpenVinoOptions = Field(default_factory=OpenVinoOptions, description="OpenVINO options.")
    tensorrt: TensorRtOptions = Field(default_factory=TensorRtOptions, description="TensorRT options.")
    names: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] | None = Field(
        None,
        max_length=10000,
        description="Class names for a model file that carries none (a torchvision Mask R-CNN ONNX exported "
        "with the standard recipe), in label order: torchvision label 1 is class id 0, the background "
        "label 0 is left out. Empty = the names in the model file.",
    )
    semantic: SemanticOptions = Field(
        default_factory=SemanticOptions, description="SegFormer: class map to instances."
    )
    panoptic: PanopticOptions = Field(
        default_factory=PanopticOptions, description="DETR panoptic: post-processing."
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda|cuda:\d+)$",
        description="auto (first CUDA GPU if present, else CPU), cpu, cuda or cuda:N.",
    )
    conf: float = Field(0.25, ge=0.0, le=1.0, description="Minimum class score of an instance.")
    iou: float = Field(
        0.7, ge=0.0, le=1.0, description="IoU above which NMS suppresses the lower-scored box."
    )
    imgsz: int | None = Field(
        None,
        ge=32,
        le=4096,
        description="Network input size in pixels (rounded up to a stride multiple). "
        "Empty = the size the model was trained at; exports (TorchScript, ONNX, OpenVINO, TensorRT) always "
        "use their fixed export size.",
    )
    max_det: int = Field(300, ge=1, le=10000, description="Maximum instances kept per frame.")
    classes: tuple[Annotated[int, Field(ge=0, le=9999)], ...] | None = Field(
        None,
        description="Only keep instances of these class ids, e.g. [1, 3] (null or [] = all classes).",
    )
    agnostic_nms: bool = Field(False, description="Suppress overlapping boxes across classes too.")
    end2end: Literal["auto"] | bool = Field(
        "auto",
        description="YOLO26 head: auto (as the checkpoint says, like ultralytics predict: usually the "
        "one-to-many head + NMS), true (one-to-one head, top-k selection, no NMS) or false (one-to-many "
        "head + NMS). true needs a model with a one-to-one head.",
    )
    prompt: PromptConfig | None = Field(
        None,
        description="Box/point prompt selecting instances (FastSAM style); null = keep every instance.",
    )
    refine: RefineConfig | None = Field(
        None,
        description="SAM-family mask refinement of chosen classes, prompted by each detection's box "
        "(null = the detector's masks as they are).",
    )
    half: bool = Field(True, description="Run in FP16 on CUDA (ignored on CPU, which always runs FP32).")
    channels_last: bool = Field(
        True, description="Use the channels-last memory layout (faster convolutions on CUDA and on CPU)."
    )
    cpu_freeze: bool = Field(
        True, description="On CPU, trace and freeze the network with TorchScript (prepacked convolutions)."
    )
    compile: bool = Field(
        False, description="Compile the network with torch.compile (CUDA; slow first frames)."
    )
    cuda_graphs: bool = Field(
        False, description="Capture the network in a CUDA graph per input shape (CUDA, fixed frame sizes)."
    )
    cpu_threads: int | None = Field(
        None, ge=1, le=256, description="Torch intra-op threads on CPU (empty = leave torch's default)."
    )
    warmup: int = Field(1, ge=0, le=20, description="Warm-up forward passes at load.")

    @field_validator("classes")
    @classmethod
    def _empty_means_all(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        # An empty filter would keep no instance at all, so every part would pass unseen.
        return value or None

    @field_validator("model", mode="before")
    @classmethod
    def _empty_means_demo(cls, value: object) -> object:
        # `model:` left empty in YAML is null, but INSPECTOR_ENGINE__MODEL= is "", which a Path
        # would read as the current folder: both mean the shipped demo model.
        return None if isinstance(value, str) and not value.strip() else value
