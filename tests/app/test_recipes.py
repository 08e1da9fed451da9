"""The recipe switch inside the line: the RecipeControl seam, parts in flight at a switch, the
recipe in each part's ``inspection`` event, and recipes sharing what they can."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from torch.cuda import OutOfMemoryError

from inspector.app import App, LineParts, build_line
from inspector.app.interfaces import RecipeControl, RecipeEntry
from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.errors import UnknownRecipe
from inspector.messages import Detections
from tests.support import wait_until
from tests.support.logs import LogCapture
from tests.support.parts import BlobEngine, RecordingOutput, write_frames
from tests.support.recipes import blob_engine_for, expected_verdict, recipe_config


def recorded_line(tmp_path: Path, **sections: object) -> tuple[App, RecordingOutput, list[Path], dict]:
    frames = write_frames(tmp_path / "frames", 8, seed=5)
    engines: dict[float, BlobEngine] = {}

    def engine_for(config: EngineConfig) -> BlobEngine:
        engines[config.conf] = blob_engine_for(config)
        return engines[config.conf]

    out = RecordingOutput()
    config = recipe_config(tmp_path / "frames", {}, **sections)
    app = App(build_line(config, LineParts(outputs=[out], engine_factory=engine_for)))
    return app, out, frames, engines


def test_the_line_exposes_one_recipe_control(tmp_path: Path) -> None:
    app, _, _, _ = recorded_line(tmp_path)
    control: RecipeControl = app.line.recipes  # the seam an OPC UA server is handed
    assert list(control.recipes()) == [
        RecipeEntry(0, "base", "the base settings"),
        RecipeEntry(1, "blind", "sees nothing"),
    ]
    assert control.active.number == 0
    control.request(1, "test")
    assert control.active == RecipeEntry(1, "blind", "sees nothing")
    with pytest.raises(UnknownRecipe) as refused:
        control.request(5, "test")
    assert refused.value.number == 5 and control.active.number == 1  # the old one stays


def test_parts_in_flight_at_a_switch_drain_under_the_old_recipe(tmp_path: Path, logs: LogCapture) -> None:
    app, out, frames, engines = recorded_line(tmp_path, source={"fps_limit": 100})
    base_engine = engines[0.25]
    base_engine.release.clear()  # the engine holds the first batch: parts pile up in the queues
    app.start()
    try:
        wait_until(lambda: app.line.source_stats()[0].frames >= 6, timeout=10)
        assert out.messages == []  # captured under recipe 0, none judged yet
        app.line.recipes.request(1, "test")
        base_engine.release.set()
        wait_until(lambda: len(out.messages) >= 40, timeout=30)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    messages = sorted(out.messages, key=lambda m: m.seq)
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))  # none lost
    labels = [recipe for recipe, _ in itertools.groupby(m.recipe for m in messages)]
    assert labels == [0, 1]
    drained = [m for m in messages if m.recipe == 0]
    assert len(drained) >= 6  # every part captured before the switch finished under recipe 0
    for m in messages:
        assert m.verdict is not None and not m.verdict.failsafe
        assert m.verdict.code is expected_verdict(frames[(m.seq - 1) % len(frames)], m.recipe)
    assert engines[0.99].calls  # recipe 1's own engine judged the later parts
    events = {e["seq"]: e["recipe"] for e in logs.events("inspection")}
    assert all(events[m.seq] == m.recipe for m in messages)


def test_recipes_differing_in_thresholds_share_one_network(tiny_seg_checkpoint: Path) -> None:
    from inspector.app.recipe_parts import RecipeFactory

    config = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tiny_seg_checkpoint.parent)}],
        engine={"model": str(tiny_seg_checkpoint), "device": "cpu", "warmup": 0},
        recipes={"strict": {"number": 3, "engine": {"conf": 0.6, "iou": 0.5}}},
    )
    book = RecipeFactory().book(config)
    base, strict = book.get(0), book.get(3)
    assert base is not None and strict is not None
    assert strict.engine is not base.engine  # its own thresholds...
    assert strict.engine.network is base.engine.network  # type: ignore[attr-defined]  # ...one network
    assert strict.engine.nms.conf == 0.6  # type: ignore[attr-defined]


class ShrinkingBlobEngine(BlobEngine):
    """A blob engine that runs out of CUDA memory while ``oom_left`` and can shrink its input."""

    def __init__(self, threshold: int) -> None:
        super().__init__(threshold=threshold)
        self.oom_left = 0
        self.shrinks = 0

    def reduce_imgsz(self) -> bool:
        self.shrinks += 1
        return True

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if self.oom_left > 0:
            self.oom_left -= 1
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return super().infer(frames)


def test_degrade_imgsz_shrinks_the_recipe_engine_that_ran_out_of_memory(tmp_path: Path) -> None:
    write_frames(tmp_path / "frames", 4, seed=5)
    engines: dict[float, ShrinkingBlobEngine] = {}

    def engine_for(config: EngineConfig) -> ShrinkingBlobEngine:
        engines[config.conf] = ShrinkingBlobEngine(blob_engine_for(config).threshold)
        return engines[config.conf]

    config = recipe_config(
        tmp_path / "frames", {}, watchdog={"oom": {"repeat_count": 1, "on_repeat": "degrade_imgsz"}}
    )
    out = RecordingOutput()
    app = App(build_line(config, LineParts(outputs=[out], engine_factory=engine_for)))
    base, recipe = engines[0.25], engines[0.99]
    app.line.recipes.request(1, "test")
    recipe.oom_left = 1  # the first part under recipe 1 hits OOM, its retry passes
    app.start()
    try:
        assert wait_until(lambda: len(out.messages) >= 4, timeout=30)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    assert recipe.shrinks == 1 and base.shrinks == 0  # the engine that ran out of memory shrank
    assert not app.line.watch.restart.requested  # degraded, no restart asked
