"""The SAM pair's two graphs in a CPU runtime (ONNX Runtime f32, OpenVINO f32 or bf16): name →
array in, arrays out. No torch here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from inspector.engine.backends.extras import require
from inspector.engine.backends.openvino_model import RAN, cpu_capabilities, import_openvino
from inspector.errors import ModelError

Graph = Callable[[Mapping[str, np.ndarray]], list[np.ndarray]]


def onnxruntime_graph(path: Path, threads: int | None, precision: str = "f32") -> Graph:
    if precision != "f32":  # the config refuses it first; this is for callers that skip the config
        raise ModelError(f"engine.refine.precision {precision}: ONNX Runtime runs the SAM graphs in f32 only")
    ort = require("onnxruntime", "onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    # threads sleep between calls instead of spinning, as the engine's own ONNX Runtime sessions:
    # the line PC's cores are shared with the detector, capture and the PLC link
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # shape-merge notes on SAM 2's encoder are not the user's to act on
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # the runtime's own error types: one line naming the file
        raise ModelError(f"SAM model file {path}: ONNX Runtime cannot load it ({str(exc)[:200]})") from None

    def run(inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return list(session.run(None, dict(inputs)))

    return run


def openvino_graph(path: Path, threads: int | None, precision: str = "f32") -> Graph:
    ov = import_openvino()  # without its usage telemetry (a line PC must not phone home)
    core = ov.Core()
    # The hint is always set: the CPU plugin's default is bf16 on CPUs with AMX/AVX-512-BF16
    settings: dict[str, Any] = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        settings["INFERENCE_NUM_THREADS"] = threads
    capabilities = cpu_capabilities(core)
    if precision == "bf16" and "BF16" not in capabilities:
        raise ModelError(
            f"engine.refine.precision bf16: this CPU ({core.get_property('CPU', 'FULL_DEVICE_NAME')}) "
            f"cannot run it (OpenVINO capabilities: {', '.join(capabilities)}); use f32"
        )
    try:
        compiled = core.compile_model(core.read_model(str(path)), "CPU", settings)
    except Exception as exc:
        raise ModelError(f"SAM model file {path}: OpenVINO cannot load it ({str(exc)[:200]})") from None
    ran = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    if RAN.get(ran, ran) != precision:
        raise ModelError(
            f"engine.refine.precision {precision}: OpenVINO ran {ran} instead on this CPU; use f32"
        )
    request = compiled.create_infer_request()
    outputs = compiled.outputs

    def run(inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        result = request.infer(dict(inputs))
        return [np.asarray(result[out]) for out in outputs]

    return run


RUNTIMES: Mapping[str, Callable[[Path, int | None, str], Graph]] = {
    "onnxruntime": onnxruntime_graph,
    "openvino": openvino_graph,
}


def open_graph(path: Path, backend: str, threads: int | None, precision: str = "f32") -> Graph:
    return RUNTIMES[backend](path, threads, precision)
