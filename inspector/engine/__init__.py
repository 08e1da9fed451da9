"""Segmentation engine: YOLOv8-seg in plain torch, safe model loading, batched inference.

``load_engine(EngineConfig) -> Engine``; ``Engine.infer(frames) -> list[Detections]``.
ultralytics is never imported here; pickled checkpoints are read with a restricted unpickler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.engine.config import EngineConfig
    from inspector.engine.engine import DEMO_MODEL, Engine, load_engine
    from inspector.engine.loaders import ModelInfo, load_model

_EXPORTS = {
    "DEMO_MODEL": "inspector.engine.engine",
    "Engine": "inspector.engine.engine",
    "load_engine": "inspector.engine.engine",
    "EngineConfig": "inspector.engine.config",
    "ModelInfo": "inspector.engine.loaders",
    "load_model": "inspector.engine.loaders",
}

__all__ = ["DEMO_MODEL", "Engine", "EngineConfig", "ModelInfo", "load_engine", "load_model"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
