"""Config sections of the backends (``engine.onnxruntime``, ``engine.openvino``, ``engine.tensorrt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from inspector.section import Section


class OnnxRuntimeOptions(Section):
    """ONNX Runtime (CPU, or CUDA where the onnxruntime-gpu wheel is installed)."""

    threads: int | None = Field(
        None, ge=1, le=256, description="Intra-op threads (empty = engine.cpu_threads, else ONNX Runtime's)."
    )


class OpenVinoOptions(Section):
    """OpenVINO on CPU. The precision is always set explicitly: the CPU plugin's own default is
    bf16 on CPUs with AVX-512-BF16 or AMX, which would silently change the results."""

    precision: Literal["f32", "bf16", "f16", "int8"] = Field(
        "f32",
        description="Inference precision: f32 (parity with torch), bf16 (CPUs with AVX-512-BF16/AMX), "
        "f16, or int8 (a model quantised by `inspector model export --int8`).",
    )
    check_iou: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="At start, a precision other than f32 is compared with f32 on a warm-up frame; the "
        "daemon refuses to start when a matched mask's IoU is below this (0 = skip the check).",
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="Inference threads (empty = engine.cpu_threads, else OpenVINO's)."
    )
    streams: int | None = Field(
        None, ge=1, le=64, description="Parallel inference streams (empty = 1: lowest latency per frame)."
    )


class TensorRtOptions(Section):
    """TensorRT on an NVIDIA GPU: an engine is built from the ONNX file at first start and cached."""

    precision: Literal["fp16", "fp32"] = Field("fp16", description="Engine precision.")
    check_iou: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="At start, fp16 is compared with fp32 on a warm-up frame; refuse to start below "
        "this mask IoU (0 = skip the check).",
    )
    cache_dir: Path | None = Field(
        None,
        description="Where built engines are kept, keyed by GPU model and compute capability, TensorRT "
        "version, the ONNX file's hash, input shape, batch and precision; a plan for another key is "
        "rebuilt, never loaded (empty = <model>.tensorrt/ next to the model file).",
    )
    workspace_mib: int = Field(1024, ge=64, le=65536, description="Builder workspace limit in MiB.")
