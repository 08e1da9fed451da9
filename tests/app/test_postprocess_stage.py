"""``runtime.postprocess_stage``: the inference stage runs the network only, a stage of its own
turns each frame's outputs into detections (NMS, masks) while the next frame's forward runs.
Same parts, same detections and verdicts as the line without it; a post-processing failure
fails that part safe and shows on the engine's health; engines with one step pass through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from inspector.app import App, LineParts, build_line
from inspector.app.interfaces import TwoStepEngine
from inspector.config.settings import InspectorConfig
from inspector.engine import EngineConfig, load_engine
from inspector.engine.engine import Engine, RawFrame
from inspector.health.state import HealthState
from inspector.messages import Detections, FailSafeCause, FrameMsg
from tests.support.parts import DefectRules, RecordingOutput

FRAMES = 6


@pytest.fixture(scope="module")
def demo_engine() -> Engine:
    engine = load_engine(EngineConfig(device="cpu", conf=0.25, warmup=1))
    assert isinstance(engine, Engine)
    return engine


def line_config(two_step: bool, batch: int = 1) -> InspectorConfig:
    return InspectorConfig(
        health={"interval_s": 60},  # no evaluation during the run: the test's own look sees fresh errors
        sources=[{"kind": "synthetic", "id": "pcb0", "scene": "pcb", "width": 320, "height": 240, "seed": 3}],
        runtime={
            "postprocess_stage": two_step,
            "batch_size": batch,
            "batch_max_wait_ms": 50 if batch > 1 else 2,
            "max_frames": FRAMES,
            "poll_timeout_s": 0.02,
            "frames_queue": {"size": 2, "overflow": "block"},
        },
    )


def run_line(config: InspectorConfig, engine: Any) -> tuple[list[FrameMsg], App]:
    out = RecordingOutput()
    app = App(build_line(config, LineParts(engine, DefectRules(), [out])))
    app.start()
    assert app.run_until_stopped()  # max_frames: the line ends by itself
    return sorted(out.messages, key=lambda m: m.seq), app


@pytest.mark.parametrize("batch", [1, 2])
def test_the_stage_gives_the_parts_and_detections_of_the_line_without_it(
    demo_engine: Engine, batch: int
) -> None:
    assert isinstance(demo_engine, TwoStepEngine)
    two_step, app = run_line(line_config(True, batch), demo_engine)
    assert "postprocess" in app.line.stage_names() and "raw" in app.line.queues
    one_step, plain = run_line(line_config(False, batch), demo_engine)
    assert "postprocess" not in plain.line.stage_names() and "raw" not in plain.line.queues
    assert [m.seq for m in two_step] == [m.seq for m in one_step] and len(two_step) == FRAMES
    found = 0
    for a, b in zip(two_step, one_step, strict=True):
        assert a.verdict is not None and b.verdict is not None and not a.verdict.failsafe
        assert a.verdict.code == b.verdict.code and a.pending is None
        assert a.detections is not None and b.detections is not None
        assert torch.equal(a.detections.boxes, b.detections.boxes)
        assert torch.equal(a.detections.masks, b.detections.masks)
        stages = [name for name, _ in a.timings_ms]
        assert stages.index("infer") < stages.index("postprocess") < stages.index("rules")
        found += len(a.detections)
    assert found > 0  # boards with parts on them, not empty frames compared


class FailingFinish:
    """The demo engine, whose post-processing of its 3rd and 4th frames raises (a bug, or a
    device error while building masks)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.names = engine.names
        self.finished = 0

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        return [self.finish(raw) for raw in self.forward(frames)]

    def forward(self, frames: Sequence[np.ndarray]) -> list[RawFrame]:
        return self.engine.forward(frames)

    def finish(self, raw: RawFrame) -> Detections:
        self.finished += 1
        if self.finished in (3, 4):
            raise RuntimeError("mask assembly failed")
        return self.engine.finish(raw)

    def warmup(self) -> None:
        """Warm already."""


def test_a_failed_post_processing_fails_that_part_safe_and_degrades_the_engine(demo_engine: Engine) -> None:
    engine = FailingFinish(demo_engine)
    messages, app = run_line(line_config(True), engine)
    assert len(messages) == FRAMES
    failed = [m for m in messages if m.verdict is not None and m.verdict.failsafe]
    assert [m.seq for m in failed] == [messages[2].seq, messages[3].seq]
    for m in failed:
        assert m.verdict is not None and m.verdict.reasons[0].code == FailSafeCause.ENGINE_ERROR
        assert "post-processing failed: mask assembly failed" in m.verdict.reasons[0].message
        assert m.detections is None and m.pending is None
    assert sum(s.errors for s in app.line.stage_status() if s.name == "postprocess") == 2
    (engine_health,) = [c for c in app.line.watch.monitor.snapshot().components if c.name == "engine"]
    assert engine_health.state is HealthState.DEGRADED, engine_health


class OneStep:
    """An engine with ``infer`` only (as Mask R-CNN's): the post-processing stage passes its parts on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.names = engine.names

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        return self.engine.infer(frames)

    def warmup(self) -> None:
        """Warm already."""


def test_an_engine_without_two_steps_runs_whole_in_the_inference_stage(demo_engine: Engine) -> None:
    engine = OneStep(demo_engine)
    assert not isinstance(engine, TwoStepEngine)
    messages, _ = run_line(line_config(True), engine)
    assert len(messages) == FRAMES
    for m in messages:
        assert m.verdict is not None and not m.verdict.failsafe and m.detections is not None
        assert "postprocess" not in [name for name, _ in m.timings_ms]
