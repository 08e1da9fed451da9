"""Building and loading TensorRT plans (TensorRT 10 Python API; the module object ``trt`` is
passed in, imported lazily through ``extras.require``, and typed ``Any``: TensorRT has no stubs).

The precision is always set explicitly. TensorRT 10 builds from the ONNX file's float32 graph
with ``BuilderFlag.FP16`` for fp16 and with TF32 cleared for fp32 (TensorRT enables TF32 by
default on Ampere and later, which is not fp32). TensorRT 11 has no FP16 flag: its networks are
strongly typed, so an fp16 plan needs an ONNX graph that is fp16 itself; an fp32 graph asked to
build fp16 there is refused with what to do instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inspector.engine.backends.onnx_file import describe_onnx, read_onnx
from inspector.engine.backends.tensorrt_plan import REBUILD
from inspector.engine.loaders import ModelInfo
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")

VERSION_MISMATCH = re.compile(r"expecting library version (\S+?),? got (\S+?)[,.]? ", re.IGNORECASE)


@dataclass(frozen=True)
class OnnxFacts:
    """What the build needs to know about an ONNX file before TensorRT reads it (read by the
    shared ONNX reader, ``backends/onnx_file.py``)."""

    info: ModelInfo  # names, family, scale, size: as every backend running .onnx reports them
    metadata: dict[str, Any]  # ultralytics' metadata_props as Python values: the plan's header
    input_shape: tuple[int, int, int, int]  # the plan's (batch, 3, h, w)
    fp16_input: bool


def onnx_facts(path: Path, end2end: bool | None = None) -> OnnxFacts:
    """Metadata and input of a segmentation export. A plan is built for one shape and batch: a
    dynamic export's named axes take its metadata's size and batch (as ultralytics runs it)."""
    graph = describe_onnx(path, end2end)
    batch, channels, h, w = graph.input.dims
    fixed = (
        batch if isinstance(batch, int) and batch > 0 else max(graph.batch, 1),
        int(channels),
        h if isinstance(h, int) and h > 0 else graph.info.imgsz[0],
        w if isinstance(w, int) and w > 0 else graph.info.imgsz[1],
    )
    return OnnxFacts(graph.info, read_onnx(path).metadata, fixed, graph.dtype == torch.float16)


def gpu_identity(device: torch.device) -> tuple[str, str]:
    """(GPU model name, compute capability "major.minor") of ``device``."""
    major, minor = torch.cuda.get_device_capability(device)
    return torch.cuda.get_device_name(device), f"{major}.{minor}"


def capturing_logger(trt: Any) -> Any:
    """A TensorRT logger that keeps the error messages (they name versions and GPUs when a plan
    is refused) and passes warnings to the log. Must outlive every object built with it."""

    class CapturingLogger(trt.ILogger):  # type: ignore[misc]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            if int(severity) <= int(trt.ILogger.Severity.ERROR):
                self.errors.append(msg)
                log.error("tensorrt_message", message=msg)
            elif int(severity) == int(trt.ILogger.Severity.WARNING):
                log.warning("tensorrt_message", message=msg)

    return CapturingLogger()


def set_precision(trt: Any, config: Any, precision: str, fp16_input: bool, path: Path) -> None:
    """Set the build precision explicitly, never TensorRT's defaults."""
    flags = trt.BuilderFlag
    if precision == "fp32":
        if fp16_input:
            raise ModelError(
                f"model file {path}: an fp16 ONNX graph cannot build an fp32 plan; set "
                "engine.tensorrt.precision: fp16 or export a float32 ONNX file"
            )
        if hasattr(flags, "TF32"):
            config.clear_flag(flags.TF32)  # on by default on Ampere+: 10-bit mantissas in convolutions
        return
    if precision == "int8":
        config.set_flag(flags.INT8)  # the calibrator's ranges; layers without one run fp16
    if hasattr(flags, "FP16"):
        config.set_flag(flags.FP16)
    elif not fp16_input:
        raise ModelError(
            f"model file {path}: TensorRT {trt.__version__} builds strongly typed networks (no FP16 "
            "flag), so an fp16 plan needs an fp16 ONNX graph and this one is float32; set "
            "engine.tensorrt.precision: fp32, or install TensorRT 10 ('tensorrt-cu12<11' / "
            "'tensorrt-cu13<11') to build fp16 from it"
        )


def build_plan(
    trt: Any,
    logger: Any,
    onnx: Path,
    precision: str,
    workspace_mib: int,
    facts: OnnxFacts,
    calibrator: Any = None,
) -> bytes:
    """A serialized engine built from ``onnx`` for the current CUDA device; ``precision`` int8
    needs ``calibrator`` (TensorRT 10's implicit quantization)."""
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"model file {onnx}: TensorRT cannot parse this ONNX model ({errors[:500]})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    image = network.get_input(0)
    if min(tuple(image.shape)) < 0:  # a dynamic export: one profile, exactly the plan's shape
        profile = builder.create_optimization_profile()
        shape = facts.input_shape
        profile.set_shape(image.name, shape, shape, shape)
        config.add_optimization_profile(profile)
    set_precision(trt, config, precision, facts.fp16_input, onnx)
    if calibrator is not None:
        config.int8_calibrator = calibrator
    log.info("tensorrt_build_started", model=str(onnx), precision=precision, tensorrt=trt.__version__)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        why = "; ".join(logger.errors[-3:]) or "no reason given"
        raise ModelError(f"model file {onnx}: the TensorRT {precision} build failed ({why[:500]})")
    return bytes(memoryview(serialized))


def deserialize(trt: Any, logger: Any, path: Path, plan: bytes) -> tuple[Any, Any]:
    """(runtime, engine) of a serialized plan; a plan for another TensorRT version or GPU is
    refused with TensorRT's own reason, which names both versions or compute capabilities."""
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is None:
        said = "; ".join(logger.errors[-3:]) or "no reason given"
        found = VERSION_MISMATCH.search(said + " ")
        versions = (
            f"built with TensorRT {found.group(2)}, installed TensorRT {found.group(1)}"
            if found
            else f"installed TensorRT {trt.__version__}"
        )
        raise ModelError(
            f"model file {path}: TensorRT cannot load this plan ({versions}: {said[:400]}); {REBUILD}"
        )
    return runtime, engine


def torch_dtype(trt: Any, dtype: Any) -> torch.dtype:
    """The torch dtype of a TensorRT tensor dtype (float32, float16, int32, ...)."""
    import numpy as np

    return torch.from_numpy(np.empty(0, dtype=trt.nptype(dtype))).dtype
