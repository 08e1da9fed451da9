"""The runtime: stages as threads wired by bounded queues, built and stopped by one App.

Names are imported lazily: ``inspector.config.settings`` imports this package's
``config`` module, and the App imports the settings.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "App": "inspector.app.app",
    "Components": "inspector.app.build",
    "build_components": "inspector.app.build",
    "InferenceEngine": "inspector.app.components",
    "LogOnlyOutput": "inspector.app.components",
    "Output": "inspector.app.components",
    "VerdictMaker": "inspector.app.components",
    "OverflowPolicy": "inspector.app.config",
    "QueueConfig": "inspector.app.config",
    "RuntimeConfig": "inspector.app.config",
    "StageQueue": "inspector.app.queues",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspector.app' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
