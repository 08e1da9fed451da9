"""The recipe switch inside the line: the RecipeControl seam, parts in flight at a switch, the
recipe in each part's ``inspection`` event, and recipes sharing what they can."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from inspector.app import App, LineParts, build_line
from inspector.app.interfaces import RecipeControl, RecipeEntry
from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.errors import UnknownRecipe
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
