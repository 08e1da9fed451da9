"""``engine.refine`` around a real (blob) detector with an exported MobileSAM pair: which parts are
refined, the ``max_parts`` cap and its counts, the class check, what is passed through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inspector.app.interfaces import EngineOnDevice, ShrinkingEngine
from inspector.engine.refine import RefineConfig, RefineCounts, RefiningEngine, SamRefiner
from inspector.errors import ConfigError
from tests.support.parts import BlobEngine


def blobs_frame(count: int, size: int = 30) -> np.ndarray:
    """``count`` bright squares (each over 400 px: the blob engine's class 1, solder_bridge)."""
    frame = np.full((240, 320, 3), 40, np.uint8)
    for i in range(count):
        x, y = 20 + (i % 4) * 70, 30 + (i // 4) * 90
        frame[y : y + size, x : x + size] = 230
    return frame


@pytest.fixture(scope="module")
def mobile_refiner(sam_models: Callable[[str], tuple[Any, Path, Path]]) -> SamRefiner:
    return SamRefiner.open(sam_models("sam-mobile")[2], "onnxruntime")


def refining(refiner: SamRefiner, **config: Any) -> tuple[RefiningEngine, BlobEngine]:
    inner = BlobEngine()
    settings = {"model": refiner.pair.folder, "classes": ["solder_bridge"], **config}
    return RefiningEngine(inner, refiner, RefineConfig(**settings)), inner


def test_max_parts_caps_and_counts(mobile_refiner: SamRefiner) -> None:
    engine, inner = refining(mobile_refiner, max_parts=2)
    frame = blobs_frame(4)
    (before,) = inner.infer([frame])
    (after,) = engine.infer([frame])
    assert len(after) == len(before) == 4 and (after.class_ids == 1).all()
    changed = [not torch.equal(a, b) for a, b in zip(after.masks, before.masks, strict=True)]
    counts = engine.counts()
    assert counts.frames == 1 and counts.over_cap == 2 and counts.refined + counts.empty == 2
    assert sum(changed) == counts.refined  # the two over the cap keep the detector's masks
    assert changed[2:] == [False, False]  # equal scores: the first ones in order are refined
    timings = dict(after.timings_ms)
    assert timings["refine_encoder"] > 0 and timings["refine_decoder"] > 0
    torch.testing.assert_close(after.boxes, before.boxes)  # boxes, scores and classes stay


def test_nothing_to_refine_runs_no_encoder(mobile_refiner: SamRefiner) -> None:
    engine, _ = refining(mobile_refiner, classes=["good_joint"])
    (found,) = engine.infer([blobs_frame(3)])  # only solder_bridge-sized blobs
    assert len(found) == 3 and "refine_encoder" not in dict(found.timings_ms)
    assert engine.counts() == RefineCounts()
    (found,) = engine.infer([np.zeros((64, 64, 3), np.uint8)])
    assert len(found) == 0 and engine.counts() == RefineCounts()


def test_refined_classes_must_be_the_models(mobile_refiner: SamRefiner) -> None:
    with pytest.raises(ConfigError) as caught:
        refining(mobile_refiner, classes=["solder_bridge", "scratch"])
    assert "engine.refine.classes.1" in str(caught.value) and "'scratch'" in str(caught.value)


def test_the_inner_engines_capabilities_pass_through(mobile_refiner: SamRefiner) -> None:
    engine, inner = refining(mobile_refiner)
    assert isinstance(engine, EngineOnDevice) and engine.device == inner.device
    assert not isinstance(engine, ShrinkingEngine)  # the blob engine cannot shrink: neither can this
    assert engine.names == inner.names
    engine.warmup()
    assert inner.calls == []  # the blob engine's warm-up clears its calls; the refiner's ran after


class TwoStepBlobs(BlobEngine):
    """The blob engine split as the YOLO engine is: ``forward`` now, ``finish`` later."""

    def forward(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        self.calls.append(len(frames))
        return list(frames)

    def finish(self, raw: np.ndarray) -> Any:
        return self._one(raw)


@pytest.mark.parametrize("inner", [BlobEngine, TwoStepBlobs], ids=["one-step inner", "two-step inner"])
def test_forward_then_finish_refines_in_finish(mobile_refiner: SamRefiner, inner: type[BlobEngine]) -> None:
    """With ``runtime.postprocess_stage`` the inference stage calls ``forward`` and the next stage
    ``finish``: SAM runs in ``finish`` (never skipped), with the masks ``infer`` gives."""
    config = RefineConfig(model=mobile_refiner.pair.folder, classes=["solder_bridge"])
    engine = RefiningEngine(inner(), mobile_refiner, config)
    frame = blobs_frame(3)
    (whole,) = engine.infer([frame])
    (pending,) = engine.forward([frame])
    assert engine.counts().frames == 1  # forward refined nothing yet
    split = engine.finish(pending)
    assert engine.counts().frames == 2 and "refine_encoder" in dict(split.timings_ms)
    assert torch.equal(split.masks, whole.masks) and torch.equal(split.boxes, whole.boxes)
