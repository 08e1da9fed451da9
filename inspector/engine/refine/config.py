"""Config section ``engine.refine``: SAM-family mask refinement of chosen classes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from inspector.section import Section

ClassName = Annotated[str, Field(min_length=1, max_length=200)]


class RefineConfig(Section):
    """Refine the masks of the named classes with a SAM-family model prompted by each detection's
    box: the image encoder runs once per frame with something to refine, the decoder once per
    refined part; its mask replaces the detector's."""

    model: Path = Field(
        ...,
        description="The exported SAM pair: the folder `inspector model export mobile_sam.pt --arch sam "
        "--format onnx` writes (encoder.onnx, decoder.onnx, sam.json), or one of its files.",
    )
    classes: tuple[ClassName, ...] = Field(
        ...,
        min_length=1,
        max_length=1000,
        description="Class names whose masks are refined (each must be one of the model's classes).",
    )
    max_parts: int = Field(
        8,
        ge=1,
        le=1000,
        description="Most detections refined per frame, highest score first; the rest keep the "
        "detector's mask and are counted as unrefined (stats event, /metrics).",
    )
    backend: Literal["onnxruntime", "openvino"] = Field(
        "onnxruntime", description="What runs the SAM graphs on the CPU: onnxruntime or openvino."
    )
    precision: Literal["f32", "bf16"] = Field(
        "f32",
        description="Precision of the SAM graphs: f32, or bf16 (backend openvino, CPUs with "
        "AVX-512-BF16 or AMX; about half the encoder's time), checked against f32 at start.",
    )
    check_iou: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="At start, bf16 masks of check boxes on a check frame are compared with f32's; "
        "the worst mask IoU below this refuses to start (0 skips the check).",
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="Inference threads of the SAM graphs (empty = the runtime's default)."
    )

    @model_validator(mode="after")
    def _precision_has_a_runtime(self) -> RefineConfig:
        if self.precision != "f32" and self.backend != "openvino":
            raise PydanticCustomError(
                "refine_precision",
                "precision {precision} runs on backend openvino only (backend is {backend})",
                {"precision": self.precision, "backend": self.backend},
            )
        return self
