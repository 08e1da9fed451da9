"""The SAM pair's two graphs in a CPU runtime (ONNX Runtime f32, OpenVINO f32 or bf16): name →
array in, arrays out. No torch here.

OpenVINO compiles through its model cache: converting SAM 2.1-t's encoder from ONNX took it 125–134 s
on two cores (its ONNX frontend's transformations), loading the compiled blob 0.4 s."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from inspector.engine.backends.extras import require
from inspector.engine.backends.openvino_model import RAN, cpu_capabilities, import_openvino
from inspector.engine.backends.tensorrt_plan import file_sha256
from inspector.engine.checkpoint import reason_of
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")
CACHE_FOLDER = "openvino-cache"  # in the pair's folder unless engine.refine.cache_dir names one

Graph = Callable[[Mapping[str, np.ndarray]], list[np.ndarray]]


def onnxruntime_graph(
    path: Path, threads: int | None, precision: str = "f32", cache_dir: Path | None = None
) -> Graph:
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


def openvino_graph(
    path: Path, threads: int | None, precision: str = "f32", cache_dir: Path | None = None
) -> Graph:
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
    cache = compile_cache(path, cache_dir)
    if cache is not None:
        settings["CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    try:  # from the path: on a cache hit OpenVINO neither reads nor converts the ONNX file
        compiled = core.compile_model(str(path), "CPU", settings)
    except Exception as exc:
        raise ModelError(f"SAM model file {path}: OpenVINO cannot load it ({str(exc)[:200]})") from None
    log.info(
        "refine_graph_compiled",
        model=str(path),
        precision=precision,
        cache=None if cache is None else str(cache),
        from_cache=bool(compiled.get_property("LOADED_FROM_CACHE")),
        seconds=round(time.perf_counter() - start, 1),
    )
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


def compile_cache(path: Path, cache_dir: Path | None) -> Path | None:
    """The folder OpenVINO keeps ``path`` compiled in, created: one per content of the ONNX file
    (its SHA-256), so a re-exported pair never meets a stale blob; OpenVINO keys its blobs by its
    own version and the compile settings within. None, with a warning, when it cannot be written:
    the graph is then compiled from ONNX at every start."""
    folder = (cache_dir if cache_dir is not None else path.parent / CACHE_FOLDER) / file_sha256(path)[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        log.warning(
            "refine_cache_unusable",
            folder=str(folder),
            reason=reason_of(exc),
            note="OpenVINO compiles the SAM graphs from ONNX at every start (minutes for SAM 2's encoder); "
            "set engine.refine.cache_dir to a writable folder",
        )
        return None
    return folder


RUNTIMES: Mapping[str, Callable[[Path, int | None, str, Path | None], Graph]] = {
    "onnxruntime": onnxruntime_graph,
    "openvino": openvino_graph,
}


def open_graph(
    path: Path, backend: str, threads: int | None, precision: str = "f32", cache_dir: Path | None = None
) -> Graph:
    return RUNTIMES[backend](path, threads, precision, cache_dir)
