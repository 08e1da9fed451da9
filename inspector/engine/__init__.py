"""Segmentation engine: YOLOv8-seg in plain torch, safe model loading, batched inference.

``load_engine(EngineConfig) -> Engine``; ``Engine.infer(frames) -> list[Detections]``.
ultralytics is never imported here; pickled checkpoints are read with a restricted unpickler.
"""

from __future__ import annotations

from inspector.engine.config import EngineConfig
from inspector.engine.engine import DEMO_MODEL, Engine, load_engine
from inspector.engine.loaders import ModelInfo, load_model

__all__ = ["DEMO_MODEL", "Engine", "EngineConfig", "ModelInfo", "load_engine", "load_model"]
