"""The OpenVINO backend (CPU): an OpenVINO IR or an ONNX file, compiled with every setting that
changes results or speed set explicitly from ``engine.openvino``.

Precision: the CPU plugin's own default is bf16 on CPUs with AVX-512-BF16 or AMX, and a request
it cannot honour is quietly replaced (f16 on a CPU without FP16 runs bf16). So the hint is always
set, the one that ran is read back, and a mismatch or a missing CPU capability is an error.
``int8`` runs a quantised IR (``inspector model export --int8``): its FakeQuantize parts run in
int8 whatever the hint, the rest with the f32 hint. A precision other than f32 is checked at start
against an f32 compile (``precision_check``); for int8 the reference is the f32 IR the exporter
writes beside the quantised one.

OpenVINO's "GPU" device means Intel GPUs; the backend runs on the CPU only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.engine.backends.openvino_model import (
    RAN,
    ReadModel,
    cpu_capabilities,
    import_openvino,
    model_info,
    read_openvino_model,
)
from inspector.engine.config import EngineConfig
from inspector.engine.exported import rows_as_pairs
from inspector.engine.formats import FileKind, sniff
from inspector.engine.loaders import ModelInfo, check_head_mode
from inspector.engine.network import Network, RawHead, input_hw
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")

HINT = {"f32": "f32", "bf16": "bf16", "f16": "f16", "int8": "f32"}  # int8: f32 for the unquantised parts
CAPABILITY = {"bf16": "BF16", "f16": "FP16"}  # OPTIMIZATION_CAPABILITIES a precision needs
F32_REFERENCE_SUFFIX = "-f32"  # int8 export: <name>.xml (quantised) and <name>-f32.xml beside it


@dataclass(frozen=True, eq=False)
class OpenVinoNetwork:
    """A ``Network`` run by a compiled OpenVINO model (one infer request: one caller at a time)."""

    info: ModelInfo
    compiled: Any  # openvino.CompiledModel
    request: Any  # openvino.InferRequest
    max_batch: int  # the graph's static batch (0: dynamic)
    precision: str  # what ran: f32 | bf16 | f16 | int8
    ready_rows: bool  # the graph returns an end-to-end export's (B, K, 6+nm) rows

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32  # OpenVINO converts to the precision it runs inside the graph

    @property
    def layout(self) -> torch.memory_format:
        return torch.contiguous_format

    def __call__(self, x: torch.Tensor) -> RawHead:
        frames = int(x.shape[0])
        batch = x.detach().cpu().float().contiguous().numpy()
        if self.max_batch and frames < self.max_batch:  # a fixed-batch graph: pad, then drop the padding
            pad = np.zeros((self.max_batch - frames, *batch.shape[1:]), dtype=batch.dtype)
            batch = np.concatenate((batch, pad))
        # share_outputs=False: outputs are copied, the next call reuses the request's buffers
        out = self.request.infer([batch], share_inputs=True, share_outputs=False)
        preds = torch.from_numpy(out[0][:frames])
        protos = torch.from_numpy(out[1][:frames])
        if self.ready_rows:
            preds = rows_as_pairs(preds, len(self.info.names))
        return preds, protos


def compile_settings(config: EngineConfig, precision: str) -> dict[str, Any]:
    """Every setting the plugin would otherwise choose itself."""
    options = config.openvino
    settings: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": HINT[precision],
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": str(options.streams or 1),
    }
    threads = options.threads or config.cpu_threads
    if threads:
        settings["INFERENCE_NUM_THREADS"] = threads
    return settings


def check_capability(core: Any, precision: str) -> None:
    need = CAPABILITY.get(precision)
    capabilities = cpu_capabilities(core)
    if need and need not in capabilities:
        name = core.get_property("CPU", "FULL_DEVICE_NAME")
        raise ModelError(
            f"engine.openvino.precision {precision}: this CPU ({name}) cannot run it (OpenVINO "
            f"capabilities: {', '.join(capabilities)}); use f32"
            + (" or bf16" if "BF16" in capabilities else "")
        )


def compile_network(core: Any, read: ReadModel, config: EngineConfig, precision: str) -> OpenVinoNetwork:
    """``read`` compiled for the CPU at ``precision``; the precision that ran is checked."""
    try:
        compiled = core.compile_model(read.model, "CPU", compile_settings(config, precision))
    except Exception as exc:  # OpenVINO raises RuntimeError for anything, with a long C++ trace
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"model file {read.path}: OpenVINO cannot compile it for the CPU ({reason})"
        ) from None
    ran = RAN.get(compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(), "?")
    if ran != HINT[precision]:
        raise ModelError(
            f"engine.openvino.precision {precision}: OpenVINO ran {ran} instead on this CPU; use f32"
        )
    shape = read.model.inputs[0].get_partial_shape()
    static = shape.is_static
    fixed_hw = (shape[2].get_length(), shape[3].get_length()) if static else None
    info = model_info(read, FileKind.ONNX.value if read.path.suffix == ".onnx" else "openvino", fixed_hw)
    max_batch = shape[0].get_length() if static else 0
    request = compiled.create_infer_request()
    return OpenVinoNetwork(info, compiled, request, max_batch, precision, ready_rows(read))


def ready_rows(read: ReadModel) -> bool:
    """An end-to-end export by ultralytics returns (B, K, 6+nm) rows; inspector's own export of a
    one-to-one head returns its decoded output (B, 4+nc+nm, anchors), already what top-k reads."""
    if not read.meta.end2end:
        return False
    preds, protos = (output.get_partial_shape() for output in read.model.outputs)
    last, masks = preds[2], protos[1]
    return last.is_static and masks.is_static and last.get_length() == 6 + masks.get_length()


def f32_reference(core: Any, read: ReadModel, path: Path) -> ReadModel:
    """What a precision is checked against: the same model; for int8 the f32 IR beside it."""
    if not read.quantised:
        return read
    twin = read.path.with_name(read.path.stem + F32_REFERENCE_SUFFIX + ".xml")
    if not twin.is_file():
        raise ModelError(
            f"model file {path}: an int8 model without its f32 reference {twin.name} beside it, so "
            "engine.openvino.check_iou cannot compare; export with `inspector model export --int8`, "
            "or set engine.openvino.check_iou: 0 to skip the check"
        )
    return read_openvino_model(core, twin)


def checked_precision(
    core: Any, network: OpenVinoNetwork, read: ReadModel, path: Path, config: EngineConfig
) -> float | None:
    """The start-up check of a precision other than f32 (None when skipped)."""
    options = config.openvino
    if options.precision == "f32" or options.check_iou == 0:
        return None
    from inspector.engine.backends.precision_check import check_precision

    reference = compile_network(core, f32_reference(core, read, path), config, "f32")
    frame_hw = input_hw(network.info, config)
    what = f"openvino {options.precision}"
    return check_precision(network, reference, frame_hw, options.check_iou, what, config)


def check_quantised(read: ReadModel, precision: str) -> None:
    """int8 runs a quantised model, and a quantised model runs int8 whatever the hint: the
    configured precision must say so."""
    if precision == "int8" and not read.quantised:
        raise ModelError(
            f"engine.openvino.precision int8: model file {read.path} is not quantised; make one with "
            "`inspector model export SRC --format openvino --int8 --calib DIR`"
        )
    if precision != "int8" and read.quantised:
        raise ModelError(
            f"engine.openvino.precision {precision}: model file {read.path} is quantised (int8) and runs "
            "int8 whatever the hint; set engine.openvino.precision: int8, or use the f32 model"
        )


def open_openvino(path: Path, config: EngineConfig, device: torch.device) -> Network:
    """An OpenVINO IR or ONNX file compiled for the CPU at ``engine.openvino.precision``."""
    if device.type != "cpu":
        chosen = f"{config.device} (which chose {device} here)" if config.device == "auto" else str(device)
        raise ModelError(
            f"engine.backend openvino runs on the CPU only, not engine.device {chosen} (OpenVINO's own "
            "GPU device is for Intel GPUs); set engine.device: cpu, or use tensorrt or onnxruntime on a GPU"
        )
    sniff(path)  # a missing or unreadable file: one clear error before the runtime is imported
    core = import_openvino().Core()
    precision = config.openvino.precision
    check_capability(core, precision)
    read = read_openvino_model(core, path)
    wanted = None if config.end2end == "auto" else bool(config.end2end)
    check_head_mode(read.meta.end2end, wanted, "this export", read.path, available=False)
    check_quantised(read, precision)
    network = compile_network(core, read, config, precision)
    worst = checked_precision(core, network, read, path, config)
    log.info(
        "openvino_compiled",
        model=str(read.path),
        precision=precision,
        inference_precision_hint=str(network.compiled.get_property("INFERENCE_PRECISION_HINT")),
        cpu=str(core.get_property("CPU", "FULL_DEVICE_NAME")),
        cpu_capabilities=cpu_capabilities(core),
        streams=int(network.compiled.get_property("NUM_STREAMS")),
        threads=int(network.compiled.get_property("INFERENCE_NUM_THREADS")),
        check_iou=config.openvino.check_iou,
        worst_mask_iou=None if worst is None else round(worst, 4),
    )
    return network
