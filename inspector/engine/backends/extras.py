"""Optional runtimes are extras: a missing one is one clear error naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from inspector.errors import ModelError

EXTRA_OF = {"onnxruntime": "onnxruntime", "openvino": "openvino", "tensorrt": "tensorrt", "onnx": "export"}


def require(module: str, backend: str) -> ModuleType:
    """``import module``, or a ``ModelError`` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_OF.get(module.split(".")[0], module)
        raise ModelError(
            f"engine.backend {backend} needs the optional extra: pip install 'inspector[{extra}]' "
            f"({module} cannot be imported: {exc})"
        ) from None
