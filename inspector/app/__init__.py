"""The composition root and the runtime: ``build_line`` builds a Line from config (stages as
threads wired by bounded queues, outputs, the watch), and ``App`` starts and stops it.

Names are imported lazily: ``inspector.config.settings`` imports this package's ``config``
module, and the composition root imports the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.app.app import App
    from inspector.app.compose import LineParts, build_line
    from inspector.app.config import OverflowPolicy, QueueConfig, RuntimeConfig
    from inspector.app.interfaces import InferenceEngine, Output, VerdictMaker
    from inspector.app.line import Line, LineControl
    from inspector.app.outputs import CountingOutput
    from inspector.app.queues import StageQueue

_EXPORTS = {
    "App": "inspector.app.app",
    "LineParts": "inspector.app.compose",
    "build_line": "inspector.app.compose",
    "OverflowPolicy": "inspector.app.config",
    "QueueConfig": "inspector.app.config",
    "RuntimeConfig": "inspector.app.config",
    "InferenceEngine": "inspector.app.interfaces",
    "Output": "inspector.app.interfaces",
    "VerdictMaker": "inspector.app.interfaces",
    "Line": "inspector.app.line",
    "LineControl": "inspector.app.line",
    "CountingOutput": "inspector.app.outputs",
    "StageQueue": "inspector.app.queues",
}

__all__ = [
    "App",
    "CountingOutput",
    "InferenceEngine",
    "Line",
    "LineControl",
    "LineParts",
    "Output",
    "OverflowPolicy",
    "QueueConfig",
    "RuntimeConfig",
    "StageQueue",
    "VerdictMaker",
    "build_line",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
