"""The intake as wired by the App: the capture stage time, captured seqs announced to a
part-tracking output, the default capture queue (block: a free-run line that cannot keep up
drops no frame, so rejects no part for it), the line counter shared by the intake."""

from __future__ import annotations

import statistics
import threading
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.app.capture import CaptureStage, TriggerDispatcher
from inspector.app.config import OverflowPolicy, RuntimeConfig
from inspector.config.settings import InspectorConfig
from tests.support.parts import (
    BlobEngine,
    DefectRules,
    RecordingOutput,
    TriggeringOutput,
    run_line,
    write_frames,
)


def test_capture_time_excludes_the_fps_limit_wait() -> None:
    period_ms = 200.0
    cfg = InspectorConfig(
        sources=[{"kind": "synthetic", "id": "cam0", "scene": "shapes", "width": 64, "height": 48,
                  "fps_limit": 1000.0 / period_ms}],
        runtime={"poll_timeout_s": 0.02, "max_frames": 5},
    )  # fmt: skip
    out = RecordingOutput()
    assert run_line(App(build_line(cfg, LineParts(BlobEngine(), DefectRules(), [out]))))
    capture_ms = [dict(m.timings_ms)["capture"] for m in out.messages]
    assert len(capture_ms) == 5
    # the read of a tiny synthetic frame takes a few ms; the limiter's ~200 ms wait is not in it
    assert statistics.median(capture_ms) < period_ms / 4


class TrackingOutput(RecordingOutput):
    """An output that tracks free-run parts from their capture (like ``PlcOutput``)."""

    def __init__(self) -> None:
        super().__init__()
        self.announced: list[int] = []
        self._seen = threading.Lock()

    def captured(self, seq: int, t_capture: float) -> None:
        with self._seen:
            self.announced.append(seq)


def test_every_captured_seq_is_announced_to_a_tracking_output(tmp_path: Path) -> None:
    write_frames(tmp_path, 6)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
    )
    out = TrackingOutput()
    assert run_line(App(build_line(cfg, LineParts(BlobEngine(), DefectRules(), [out]))))
    assert out.announced == list(range(1, 7)) == [m.seq for m in out.messages]


def test_free_run_line_with_the_default_queues_drops_nothing(tmp_path: Path) -> None:
    assert RuntimeConfig().frames_queue.overflow is OverflowPolicy.BLOCK
    write_frames(tmp_path, 12)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}], runtime={"poll_timeout_s": 0.02}
    )
    out = RecordingOutput()
    app = App(
        build_line(cfg, LineParts(BlobEngine(delay_s=0.03), DefectRules(), [out]))
    )  # slower than the folder
    assert run_line(app)
    assert not any(app.line.queue_drops().values())
    assert [m.seq for m in out.messages] == list(range(1, 13))  # every frame a part, inspected
    assert not any(m.verdict is not None and m.verdict.failsafe for m in out.messages)


def test_triggered_intake_shares_the_line_counter(tmp_path: Path) -> None:
    write_frames(tmp_path, 1)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"poll_timeout_s": 0.02},
        plc={"mode": "triggered"},
    )
    app = App(build_line(cfg, LineParts(BlobEngine(), DefectRules(), [TriggeringOutput()])))
    app.start()
    try:
        capture = next(s for s in app.line.stages if isinstance(s, CaptureStage))
        dispatcher = next(s for s in app.line.stages if isinstance(s, TriggerDispatcher))
        assert app.line.seq is not None and capture.seq is app.line.seq and dispatcher.seq is app.line.seq
    finally:
        assert app.stop(5.0)
