"""Recipe test helpers: a line whose recipes differ in a way each part's verdict shows.

Recipe 0 (base): the blob engine at threshold 200 and the rule "a big blob (solder_bridge)
rejects". Recipe 1 ``blind``: engine ``conf: 0.99``, which the factory below turns into a blob
threshold no pixel reaches, so every part passes. A part's verdict therefore says which recipe's
engine and rules judged it, and ``expected_verdict`` recomputes it from the frame alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2

from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.messages import VerdictCode
from tests.support.parts import BlobEngine

RULES = {"rules": {"bridge": {"kind": "presence", "code": 1, "classes": ["solder_bridge"]}}}
RECIPES = {"blind": {"number": 1, "description": "sees nothing", "engine": {"conf": 0.99}}}


def blob_engine_for(config: EngineConfig) -> BlobEngine:
    """The engine of a recipe: ``conf`` sets the blob threshold (0.99 and up: nothing is seen)."""
    return BlobEngine(threshold=256 if config.conf >= 0.99 else round(config.conf * 800))


def expected_verdict(frame: Path, recipe: int) -> VerdictCode:
    """What the recipe's engine and rules make of ``frame``: recomputed here, independently."""
    if recipe == 1:
        return VerdictCode.PASS
    detections = BlobEngine(threshold=200)._one(cv2.imread(str(frame)))
    return VerdictCode.REJECT if bool((detections.class_ids == 1).any()) else VerdictCode.PASS


def recipe_config(folder: Path, plc: dict[str, Any], **sections: Any) -> InspectorConfig:
    runtime = {
        "stats_interval_s": 5,
        "poll_timeout_s": 0.02,
        "frames_queue": {"size": 4, "overflow": "block"},
    }
    runtime.update(sections.pop("runtime", {}))
    source = {"kind": "folder", "id": "cam0", "path": str(folder), "loop": True}
    source.update(sections.pop("source", {}))
    return InspectorConfig(
        sources=[source],
        engine={"conf": 0.25},
        rules=RULES,
        recipes=sections.pop("recipes", RECIPES),
        runtime=runtime,
        plc=plc,
        **sections,
    )
