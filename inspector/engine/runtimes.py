"""The runtimes a network can run on, keyed by name.

A runtime is a function ``(model file, engine config, device) -> Network``, picked by
``engine.runtime``. Adding one (ONNX Runtime, OpenVINO, TensorRT) is its module plus one line
in ``RUNTIMES`` (and its name in ``EngineConfig.runtime``'s choices, which a test keeps in step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from inspector.engine.config import EngineConfig
from inspector.engine.network import Network
from inspector.engine.runner import open_torch

OpenNetwork = Callable[[Path, EngineConfig, torch.device], Network]

RUNTIMES: Mapping[str, OpenNetwork] = {
    "torch": open_torch,  # eager YOLOv8-seg (ultralytics / inspector files) and TorchScript exports
}
