"""Inference batching: a partial batch leaves after batch_max_wait_ms; frames of two cameras
share a batch. And a lost camera shows in the health camera component."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from inspector.app import App, LineParts, build_line
from inspector.app.config import OverflowPolicy
from inspector.app.processing import InferenceStage
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item, StageContext
from inspector.app.watch_probes import camera_probe
from inspector.config.settings import InspectorConfig
from inspector.health.state import HealthState
from inspector.messages import Detections, EndOfStream, FrameMsg
from inspector.sources.config import FolderSourceConfig
from tests.support.parts import BlobEngine, DefectRules, FlakyFolder, RecordingOutput, write_frames


class MarkedEngine(BlobEngine):
    """Notes, per batch, the marker pixel of each frame (which camera it came from)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.batches.append([int(f[0, 0, 0]) for f in frames])
        return super().infer(frames)


def test_a_partial_batch_leaves_after_the_max_wait() -> None:
    max_wait_s = 0.3
    stop = threading.Event()
    rescued: list[FrameMsg] = []
    inbox: StageQueue[Item] = StageQueue("preprocessed", 8, OverflowPolicy.BLOCK)
    outbox: StageQueue[Item] = StageQueue("detections", 8, OverflowPolicy.BLOCK)
    engine = BlobEngine()
    stage = InferenceStage(StageContext(stop, 0.02, rescued.append), inbox, outbox, engine, 4, max_wait_s)
    stage.start()
    try:
        t0 = time.monotonic()
        inbox.put(FrameMsg(1, "cam0", t0, np.zeros((32, 32, 3), np.uint8)))
        done = outbox.get(timeout=30.0)  # one frame of four: released by the wait, not by a full batch
        waited = time.monotonic() - t0
        inbox.put(EndOfStream("preprocess"), control=True)
        assert isinstance(outbox.get(timeout=30.0), EndOfStream)
    finally:
        stop.set()
        stage.join(timeout=30.0)
    assert isinstance(done, FrameMsg) and done.seq == 1 and done.detections is not None
    assert engine.calls == [1] and waited >= 0.8 * max_wait_s
    assert not stage.is_alive() and not rescued


def marked_frames(folder: Path, marker: int, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[20:30, 20:30] = 255
        image[0, 0] = marker
        cv2.imwrite(str(folder / f"f{i:03d}.png"), image)


def test_two_cameras_feed_one_batch(tmp_path: Path) -> None:
    marked_frames(tmp_path / "a", 1, 6)
    marked_frames(tmp_path / "b", 2, 6)
    engine = MarkedEngine()
    engine.release.clear()  # hold the engine so both cameras' frames wait together
    out = RecordingOutput()
    config = InspectorConfig(
        sources=[{"kind": "folder", "id": cam, "path": str(tmp_path / cam)} for cam in ("a", "b")],
        runtime={
            "batch_size": 4,
            # long enough that every batch fills: 3 full batches of 4 from 6 + 6 frames cannot all
            # be single-camera, whatever order the two capture threads interleave in
            "batch_max_wait_ms": 1000,
            "poll_timeout_s": 0.02,
            "frames_queue": {"size": 16, "overflow": "block"},
            "preprocessed_queue": {"size": 16},
        },
    )
    app = App(build_line(config, LineParts(engine, DefectRules(), [out])))
    app.start()
    deadline = time.monotonic() + 30
    while app.line.queue_depths()["preprocessed"] < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.release.set()
    assert app.run_until_stopped()
    assert sorted(m.source_id for m in out.messages) == ["a"] * 6 + ["b"] * 6
    assert [len(b) for b in engine.batches] == [4, 4, 4]
    assert any(set(batch) == {1, 2} for batch in engine.batches), engine.batches


def test_a_lost_camera_degrades_the_camera_component(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    cfg = {"kind": "folder", "id": "cam0", "path": str(tmp_path), "reconnect_initial_s": 0.05}
    flaky = FlakyFolder(FolderSourceConfig(**cfg), fail_after=1, fail_reads=1, fail_opens=10_000)
    config = InspectorConfig(sources=[cfg], runtime={"poll_timeout_s": 0.02})
    app = App(
        build_line(
            config, LineParts(BlobEngine(), DefectRules(), [RecordingOutput()]), sources={"cam0": flaky}
        )
    )
    probe = camera_probe(app.line.readers)
    app.start()
    try:
        deadline = time.monotonic() + 30
        while probe().state is HealthState.OK and time.monotonic() < deadline:
            time.sleep(0.01)
        health = probe()
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped() in (True, False)
    assert health.state is HealthState.DEGRADED and health.detail == "lost: cam0"
