"""The backends a network can run on, keyed by name, and how ``engine.backend: auto`` picks one.

A backend is a function ``(model file, engine config, device) -> Network``. Adding one is its
module plus one line in ``BACKENDS`` (and its name in ``EngineConfig.backend``'s choices, which a
test keeps in step).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from inspector.engine.backends.onnxruntime import open_onnxruntime
from inspector.engine.backends.openvino import open_openvino
from inspector.engine.backends.tensorrt import open_tensorrt
from inspector.engine.config import EngineConfig
from inspector.engine.formats import FileKind, sniff
from inspector.engine.network import Network
from inspector.engine.runner import open_torch
from inspector.errors import ModelError

OpenNetwork = Callable[[Path, EngineConfig, torch.device], Network]

BACKENDS: Mapping[str, OpenNetwork] = {
    "torch": open_torch,  # eager YOLOv8/11/26-seg (ultralytics / inspector files) and TorchScript exports
    "onnxruntime": open_onnxruntime,  # ONNX exports by ultralytics or inspector; CPU, or CUDA with -gpu
    "tensorrt": open_tensorrt,  # NVIDIA GPU: a plan built from ONNX (cached) or a .engine file
    "openvino": open_openvino,  # OpenVINO IR or ONNX on the CPU (f32 / bf16 / f16 / int8)
}

# Which backends can run which kind of file, in the order ``auto`` prefers them.
RUNS: Mapping[FileKind, tuple[str, ...]] = {
    FileKind.TORCH: ("torch",),
    FileKind.ONNX: ("onnxruntime", "openvino", "tensorrt"),
    FileKind.OPENVINO: ("openvino",),
    FileKind.TENSORRT: ("tensorrt",),
}


@dataclass(frozen=True)
class BackendChoice:
    name: str
    reason: str  # logged in engine_loaded: why this backend


def installed(backend: str) -> bool:
    module = {"torch": "torch"}.get(backend, backend)
    return importlib.util.find_spec(module) is not None


def choose_backend(path: Path, config: EngineConfig, device: torch.device) -> BackendChoice:
    """``engine.backend`` if set (it must be able to run the file), else the best installed
    backend for the file's kind and the device: TensorRT for ONNX on a GPU, else ONNX Runtime."""
    kind = sniff(path)
    can = RUNS[kind]
    if config.backend != "auto":
        if config.backend not in can:
            raise ModelError(
                f"engine.backend {config.backend} cannot run {path}: it is {kind.described}, "
                f"which runs on {' or '.join(can)}"
            )
        return BackendChoice(config.backend, "engine.backend")
    order = can
    if kind is FileKind.ONNX and device.type == "cuda":
        order = ("tensorrt", "onnxruntime", "openvino")
    for name in order:
        if name in BACKENDS and installed(name):
            return BackendChoice(name, f"auto: {kind.value} file on {device.type}")
    raise ModelError(
        f"{path} is {kind.described} and no backend that runs it is installed: "
        f"pip install 'inspector[{order[0]}]'"
    )


def open_network(path: Path, config: EngineConfig, device: torch.device) -> tuple[Network, BackendChoice]:
    choice = choose_backend(path, config, device)
    if choice.name not in BACKENDS:
        raise ModelError(f"engine.backend {choice.name} is not available in this inspector build")
    return BACKENDS[choice.name](path, config, device), choice
