"""TensorRT on an NVIDIA GPU (``engine.backend: tensorrt``).

Two kinds of model file:

* an ONNX file (ultralytics ``format=onnx`` or ``inspector model export --format onnx``): a plan
  is built at first start for its fixed input shape and batch, in ``engine.tensorrt.precision``
  (fp16 by default), and cached under ``engine.tensorrt.cache_dir`` keyed by GPU model and compute
  capability, TensorRT version, the ONNX file's hash, input shape, batch and precision
  (``tensorrt_plan``). A cached plan whose key differs is rebuilt, never loaded.
* a plan (ultralytics ``format=engine``, or ``inspector model export --format tensorrt``): its
  metadata header gives names, size, stride, task; its TensorRT version and GPU are checked.

fp16 is checked at start against fp32 (``engine.tensorrt.check_iou``). The fp32 reference is a
TensorRT fp32 plan of the same ONNX file (built and cached like the fp16 one): the same graph on
the same runtime, so the check sees the precision and nothing else. A plan file brings no fp32
twin (and no source to build one): its precision (``args.half``) is logged and the check is
skipped, saying so. I/O buffers are torch CUDA tensors; the plan runs on torch's current stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from inspector.engine.backends.extras import require
from inspector.engine.backends.tensorrt_build import (
    OnnxFacts,
    build_plan,
    capturing_logger,
    deserialize,
    gpu_identity,
    onnx_facts,
    torch_dtype,
)
from inspector.engine.backends.tensorrt_plan import (
    PlanKey,
    cached_plan_state,
    check_plan_gpu,
    check_plan_version,
    file_sha256,
    plan_metadata,
    plan_path,
    read_plan_metadata,
    ready_rows,
    write_plan,
)
from inspector.engine.config import EngineConfig
from inspector.engine.exported import PRETTY_ARCH, ExportMetadata, rows_as_pairs
from inspector.engine.formats import FileKind, sniff
from inspector.engine.loaders import ModelInfo, check_head_mode
from inspector.engine.network import RawHead
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")

ARCH_OF = {"yolov8": "yolov8-seg", "fastsam": "yolov8-seg", "yolo11": "yolo11-seg", "yolo26": "yolo26-seg"}


@dataclass(frozen=True, eq=False)
class TensorRtNetwork:
    """A ``Network`` run by a deserialized TensorRT engine, its I/O in static torch CUDA buffers
    whose addresses the execution context holds; each call copies the batch in and the outputs out."""

    info: ModelInfo
    device: torch.device
    dtype: torch.dtype
    max_batch: int
    precision: str  # what the plan computes in ("fp16" | "fp32"); the I/O may be float32 either way
    context: Any
    buffers: dict[str, torch.Tensor]
    input_name: str
    outputs: tuple[str, str]  # (predictions, prototypes)
    keep: tuple[Any, ...]  # runtime, engine, logger: TensorRT needs them alive as long as the context
    ready_rows: bool = False  # an end-to-end export's (B, K, 6+nm) rows instead of (B, 4+nc+nm, A)
    layout: torch.memory_format = torch.contiguous_format

    def __call__(self, x: torch.Tensor) -> RawHead:
        static = self.buffers[self.input_name]
        n = int(x.shape[0])
        if tuple(x.shape[1:]) != tuple(static.shape[1:]) or not 0 < n <= static.shape[0]:
            raise ModelError(
                f"TensorRT plan {self.info.path} takes batches of shape {tuple(static.shape)} "
                f"(or fewer frames), got {tuple(x.shape)}"
            )
        with torch.cuda.device(self.device):
            static[:n].copy_(x)  # a short last batch leaves the rest of the buffer as it was
            if not self.context.execute_async_v3(torch.cuda.current_stream(self.device).cuda_stream):
                raise ModelError(f"TensorRT plan {self.info.path}: execution failed")
        # Copies: the engine may call again (the next chunk of a long batch) before it reads these.
        preds, protos = (self.buffers[name][:n].clone() for name in self.outputs)
        if self.ready_rows:
            preds = rows_as_pairs(preds, self.info.nc)
        return preds, protos


def model_info(path: Path, meta: ExportMetadata, precision: str, tensorrt: str) -> ModelInfo:
    found = PRETTY_ARCH.search(meta.description)
    family = found.group(1).lower() if found else ""
    arch = "yolo26-seg" if meta.head == "Segment26" else ARCH_OF.get(family, "yolov8-seg")
    return ModelInfo(
        path=str(path),
        format="tensorrt",
        arch=arch,
        scale=(found.group(2) or "?").lower() if found else "?",
        nc=len(meta.names),
        names=meta.names,
        params=0,  # a plan holds no parameter list
        imgsz=meta.imgsz,
        stride=meta.stride,
        fixed_imgsz=True,
        weights_dtype={"fp16": "float16", "int8": "int8"}.get(precision, "float32"),
        extra={"tensorrt": tensorrt, "tensorrt_precision": precision, "ultralytics_version": meta.version},
        end2end=meta.end2end,
    )


def bind(
    trt: Any, engine: Any, device: torch.device
) -> tuple[Any, dict[str, torch.Tensor], str, tuple[str, str]]:
    """An execution context with one static torch buffer per I/O tensor, addresses set once. A
    dynamic plan's input is set to its profile's shape first (one shape: the plan's)."""
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    outputs = [n for n in names if n not in inputs]
    for name in inputs:
        if min(tuple(engine.get_tensor_shape(name))) < 0:
            context.set_input_shape(name, tuple(engine.get_tensor_profile_shape(name, 0)[2]))
    buffers: dict[str, torch.Tensor] = {}
    for name in names:
        shape = tuple(context.get_tensor_shape(name))
        if min(shape) < 0:
            raise ModelError(f"tensor {name} has no fixed shape {shape}; export it with a fixed size")
        dtype = torch_dtype(trt, engine.get_tensor_dtype(name))
        buffers[name] = torch.empty(shape, dtype=dtype, device=device)
        context.set_tensor_address(name, buffers[name].data_ptr())
    by_rank = {buffers[name].dim(): name for name in outputs}
    if len(inputs) != 1 or sorted(by_rank) != [3, 4]:
        raise ModelError(
            f"expected one input and two outputs (predictions, prototypes), found {inputs} {outputs}"
        )
    return context, buffers, inputs[0], (by_rank[3], by_rank[4])


def network_from_plan(
    trt: Any, path: Path, plan: bytes, meta: ExportMetadata, precision: str, device: torch.device
) -> TensorRtNetwork:
    logger = capturing_logger(trt)
    with torch.cuda.device(device):
        runtime, engine = deserialize(trt, logger, path, plan)
        try:
            context, buffers, input_name, outputs = bind(trt, engine, device)
        except ModelError as exc:
            raise ModelError(f"model file {path}: {exc}") from None
    static = buffers[input_name]
    info = model_info(path, meta, precision, str(trt.__version__))
    preds, protos = (buffers[name] for name in outputs)
    rows = ready_rows(tuple(preds.shape), tuple(protos.shape), info.nc, info.end2end)
    return TensorRtNetwork(
        info, device, static.dtype, int(static.shape[0]), precision, context, buffers, input_name, outputs,
        (runtime, engine, logger), ready_rows=rows,
    )  # fmt: skip


def end2end_of(config: EngineConfig) -> bool | None:
    return None if config.end2end == "auto" else bool(config.end2end)


def cached_plan(
    trt: Any, onnx: Path, config: EngineConfig, device: torch.device, precision: str
) -> tuple[Path, OnnxFacts]:
    """The cached plan for ``onnx`` at ``precision`` on this GPU and TensorRT, built if needed."""
    facts = onnx_facts(onnx, end2end_of(config))
    gpu, cc = gpu_identity(device)
    key = PlanKey(gpu, cc, str(trt.__version__), file_sha256(onnx), facts.input_shape, precision)
    path = plan_path(onnx, config.tensorrt.cache_dir, key)
    state = cached_plan_state(path, key)
    if state != "ok":
        log.info("tensorrt_plan_building", model=str(onnx), plan=str(path), reason=state, **key.as_dict())
        logger = capturing_logger(trt)
        with torch.cuda.device(device):
            plan = build_plan(trt, logger, onnx, precision, config.tensorrt.workspace_mib, facts)
        from inspector.engine.export.onnx import inspector_version

        write_plan(path, plan_metadata(facts.metadata, key, f"inspector {inspector_version()}"), plan)
    log.info("tensorrt_plan", model=str(onnx), plan=str(path), cached=state == "ok", precision=precision)
    return path, facts


def open_plan_file(
    trt: Any, path: Path, device: torch.device, precision: str | None = None
) -> TensorRtNetwork:
    """A plan file (ultralytics' or inspector's); its header's version and GPU checked first."""
    offset, raw, meta = read_plan_metadata(path)
    check_plan_version(path, raw, str(trt.__version__))
    check_plan_gpu(path, raw, *gpu_identity(device))
    args = raw.get("args")
    args = args if isinstance(args, dict) else {}
    ran = precision or str(raw.get("precision") or ("fp16" if args.get("half") else "fp32"))
    with path.open("rb") as f:
        f.seek(offset)
        plan = f.read()
    return network_from_plan(trt, path, plan, meta, ran, device)


def check_fp16(
    trt: Any, onnx: Path, network: TensorRtNetwork, config: EngineConfig, device: torch.device
) -> None:
    """fp16 against an fp32 plan of the same ONNX file on a warm-up frame (``check_precision``)."""
    from inspector.engine.backends.precision_check import check_precision

    reference = open_plan_file(trt, cached_plan(trt, onnx, config, device, "fp32")[0], device, "fp32")
    try:
        worst = check_precision(
            network, reference, network.info.imgsz, config.tensorrt.check_iou, "tensorrt fp16", config
        )
    finally:
        del reference
        torch.cuda.empty_cache()
    log.info("tensorrt_precision_checked", worst_mask_iou=round(worst, 4), min_iou=config.tensorrt.check_iou)


def require_cuda(device: torch.device) -> None:
    if device.type != "cuda":
        raise ModelError(
            f"engine.backend tensorrt: TensorRT needs a CUDA GPU, and engine.device is {device}; "
            "set engine.device: cuda (or auto on a machine with an NVIDIA GPU), or use "
            "engine.backend onnxruntime/openvino on a CPU"
        )


def open_tensorrt(path: Path, config: EngineConfig, device: torch.device) -> TensorRtNetwork:
    """The TensorRT runtime: an ONNX file (plan built and cached) or a plan file, on ``device``."""
    require_cuda(device)
    trt = require("tensorrt", "tensorrt")
    kind = sniff(path)
    if kind is FileKind.TENSORRT:
        network = open_plan_file(trt, path, device)
        # an export's head was fixed when it was written: engine.end2end can only match it
        check_head_mode(network.info.end2end, end2end_of(config), network.info.arch, path, available=False)
        log.info("tensorrt_precision_check_skipped", reason="a plan file brings no fp32 twin to compare with")
    elif kind is FileKind.ONNX:
        precision = config.tensorrt.precision
        plan, facts = cached_plan(trt, path, config, device, precision)
        network = as_loaded_from(open_plan_file(trt, plan, device, precision), facts.info)
        if precision == "fp16" and config.tensorrt.check_iou > 0:
            check_fp16(trt, path, network, config, device)
    else:
        raise ModelError(f"engine.backend tensorrt cannot run {path}: it is {kind.described}")
    log.info("tensorrt_loaded", model=str(path), precision=network.precision, batch=network.max_batch)
    return network


def as_loaded_from(network: TensorRtNetwork, onnx: ModelInfo) -> TensorRtNetwork:
    """The network described as the user's ONNX file (family, scale, weights read from it), with
    the cached plan it runs named in ``extra``."""
    extra = {**onnx.extra, **network.info.extra, "tensorrt_plan": network.info.path}
    return replace(network, info=replace(onnx, format="tensorrt", extra=extra))
