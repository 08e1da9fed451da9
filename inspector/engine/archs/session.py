"""A whole exported graph run by ONNX Runtime or OpenVINO: named numpy inputs in, named numpy
outputs out. The session and compile settings are the YOLO backends' own (threads, execution
mode, no spinning; OpenVINO's precision hint set, read back and checked), so every arch runs
with the settings the log shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.engine.archs.files import ArchFile
from inspector.engine.backends.onnxruntime import session_for
from inspector.engine.backends.openvino import HINT, check_capability, compile_settings
from inspector.engine.backends.openvino_model import RAN, import_openvino
from inspector.engine.backends.registry import installed
from inspector.engine.config import EngineConfig
from inspector.engine.formats import FileKind
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")

Feed = Mapping[str, np.ndarray]
RunGraph = Callable[[Feed], dict[str, np.ndarray]]
CAN_RUN = {FileKind.ONNX: ("onnxruntime", "openvino"), FileKind.OPENVINO: ("openvino",)}


@dataclass(frozen=True, eq=False)
class GraphSession:
    """One graph ready to run (one caller at a time)."""

    backend: str  # onnxruntime | openvino
    precision: str  # fp32, or OpenVINO's f32 / bf16 / f16 as it ran
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]  # in the graph's order
    run: RunGraph


def backend_for(file: ArchFile, config: EngineConfig, arch: str) -> str:
    """``engine.backend`` when it can run the file, else the first installed that can."""
    can = CAN_RUN[file.kind]
    if config.backend != "auto":
        if config.backend not in can:
            raise ModelError(
                f"engine.backend {config.backend} cannot run {file.path}: a {arch} export runs on "
                f"{' or '.join(can)}"
            )
        return config.backend
    for name in can:
        if installed(name):
            return name
    raise ModelError(
        f"{file.path} is a {arch} export and no backend that runs it is installed: "
        f"pip install 'inspector[{can[0]}]'"
    )


def ort_session(path: Path, config: EngineConfig, device: torch.device) -> GraphSession:
    session, threads = session_for(path, config, device)
    names = [o.name for o in session.get_outputs()]

    def run(feed: Feed) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, dict(feed)), strict=True))

    log.info("onnxruntime_session", model=str(path), provider=session.get_providers()[0], threads=threads)
    inputs = tuple(i.name for i in session.get_inputs())
    return GraphSession("onnxruntime", "fp32", inputs, tuple(names), run)


def openvino_session(path: Path, config: EngineConfig, device: torch.device) -> GraphSession:
    if device.type != "cpu":
        raise ModelError(
            f"engine.backend openvino runs on the CPU only, not {device}; set engine.device: cpu"
        )
    precision = config.openvino.precision
    if precision == "int8":
        raise ModelError(f"engine.openvino.precision int8: {path} is not quantised; use f32, bf16 or f16")
    core = import_openvino().Core()
    check_capability(core, precision)
    try:
        compiled = core.compile_model(core.read_model(str(path)), "CPU", compile_settings(config, precision))
    except Exception as exc:  # OpenVINO raises RuntimeError for anything, with a long C++ trace
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"model file {path}: OpenVINO cannot compile it for the CPU ({reason})") from None
    ran = RAN.get(compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(), "?")
    if ran != HINT[precision]:
        raise ModelError(
            f"engine.openvino.precision {precision}: OpenVINO ran {ran} instead on this CPU; use f32"
        )
    request = compiled.create_infer_request()
    outputs = [(o, o.get_any_name()) for o in compiled.outputs]

    def run(feed: Feed) -> dict[str, np.ndarray]:
        result: Any = request.infer(dict(feed), share_outputs=False)
        return {name: np.asarray(result[port]) for port, name in outputs}

    log.info(
        "openvino_compiled",
        model=str(path),
        precision=precision,
        threads=int(compiled.get_property("INFERENCE_NUM_THREADS")),
    )
    inputs = tuple(i.get_any_name() for i in compiled.inputs)
    return GraphSession("openvino", precision, inputs, tuple(name for _, name in outputs), run)


def open_session(file: ArchFile, config: EngineConfig, device: torch.device, arch: str) -> GraphSession:
    backend = backend_for(file, config, arch)
    if backend == "onnxruntime":
        return ort_session(file.path, config, device)
    return openvino_session(file.path, config, device)
