"""The runtime: stages as threads wired by bounded queues, built and stopped by one App.

Names are imported lazily: ``inspector.config.settings`` imports this package's
``config`` module, and the App imports the settings.
"""

from __future__ import annotations

from inspector.lazy import lazy_exports

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

__all__ = [
    "App",
    "Components",
    "InferenceEngine",
    "LogOnlyOutput",
    "Output",
    "OverflowPolicy",
    "QueueConfig",
    "RuntimeConfig",
    "StageQueue",
    "VerdictMaker",
    "build_components",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
