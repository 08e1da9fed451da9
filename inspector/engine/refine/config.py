"""Config section ``engine.refine``: SAM-family mask refinement of chosen classes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

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
        "onnxruntime", description="What runs the SAM graphs on the CPU: onnxruntime or openvino (f32)."
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="Inference threads of the SAM graphs (empty = the runtime's default)."
    )
