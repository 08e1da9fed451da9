"""Parts failed safe outside the rules count in the history rules on a real App with the real
rules: engine errors at the rules stage, dropped frames and lost cameras at the output stage
(``judge_failsafe``). A part dropped after the rules judged it is not counted twice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, FrameMsg, VerdictCode
from inspector.rules import build_verdicts
from inspector.sources.config import FolderSourceConfig
from tests.support import wait_until
from tests.support.parts import (
    BlobEngine,
    FlakyFolder,
    RecordingOutput,
    Trigger,
    TriggeringOutput,
    run_line,
    write_frames,
)

REJECT, ALARM = VerdictCode.REJECT, VerdictCode.ALARM
BURST_CODE = 20
BURST = {"burst": {"kind": "history", "code": BURST_CODE, "window": 4, "max_rejects": 2}}  # alarm


def line(folder: Path, engine: BlobEngine, out: RecordingOutput, **runtime: Any) -> App:
    """A free-run line over ``folder`` with the real rules (BURST only: inspected parts pass)."""
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder)}],
        runtime={"poll_timeout_s": 0.02, **runtime},
        rules={"rules": BURST},
    )
    return App(build_line(cfg, LineParts(engine, build_verdicts(cfg.rules), [out])))


def codes(messages: list[FrameMsg]) -> list[tuple[VerdictCode, list[int]]]:
    return [(m.verdict.code, [r.code for r in m.verdict.reasons]) for m in messages if m.verdict]


def alternating(cause: FailSafeCause, n: int) -> list[tuple[VerdictCode, list[int]]]:
    """What ``n`` fail-safe parts in a row give with BURST (2 of 4 -> alarm, window cleared)."""
    return [(REJECT, [cause]) if i % 2 == 0 else (ALARM, [cause, BURST_CODE]) for i in range(n)]


class BrokenEngine(BlobEngine):
    def warmup(self) -> None:
        pass

    def infer(self, frames: Any) -> Any:
        raise RuntimeError("device fell off the bus")


def test_engine_errors_push_the_history_window_to_alarm(tmp_path: Path) -> None:
    write_frames(tmp_path, 5)
    out = RecordingOutput()
    assert run_line(line(tmp_path, BrokenEngine(), out))
    assert [m.seq for m in out.messages] == list(range(1, 6))
    assert codes(out.messages) == alternating(FailSafeCause.ENGINE_ERROR, 5)  # the cause stays first
    assert all(m.verdict is not None and m.verdict.failsafe for m in out.messages)


def test_dropped_frames_push_the_history_window_to_alarm(tmp_path: Path) -> None:
    write_frames(tmp_path, 10)
    engine = BlobEngine()
    engine.release.clear()  # inference stalls on the first frame; the capture queue drops
    out = RecordingOutput()
    queues = {"frames_queue": {"size": 1, "overflow": "drop_oldest"}, "preprocessed_queue": {"size": 1}}
    app = line(tmp_path, engine, out, **queues)
    app.start()
    try:
        capture = app.line.stages[-1]
        wait_until(lambda: not capture.is_alive())  # the folder ended: every drop has happened
        drops = app.line.queue_drops()["frames"]
        assert drops >= 2
        wait_until(lambda: len(out.messages) == drops)  # the rescue lane went first
    finally:
        engine.release.set()
    assert app.run_until_stopped()
    assert codes(out.messages[:drops]) == alternating(FailSafeCause.FRAME_DROPPED, drops)
    assert sorted(m.seq for m in out.messages) == list(range(1, 11))  # every part once


def test_lost_camera_parts_push_the_history_window_to_alarm(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    unplugged = FlakyFolder(
        FolderSourceConfig(kind="folder", path=tmp_path), fail_after=0, fail_reads=10**6, fail_opens=10**6
    )
    out = TriggeringOutput()
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"poll_timeout_s": 0.02, "trigger_grab_timeout_s": 0.1},
        plc={"mode": "triggered"},
        rules={"rules": BURST},
    )
    app = App(
        build_line(
            cfg, LineParts(BlobEngine(), build_verdicts(cfg.rules), [out]), sources={"cam0": unplugged}
        )
    )
    app.start()
    try:
        for part in (500, 501, 502):
            out.triggers.put(Trigger(part))
        wait_until(lambda: len(out.messages) == 3)
    finally:
        assert app.stop(5.0)
    assert [m.part_id for m in out.messages] == [500, 501, 502]
    assert codes(out.messages) == alternating(FailSafeCause.CAMERA_LOST, 3)


class HeldOutput(RecordingOutput):
    """A PLC link that stalls until released: the verdicts queue behind it fills and drops."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def submit(self, msg: FrameMsg) -> None:
        self.release.wait(30)
        super().submit(msg)


def test_a_part_dropped_after_the_rules_is_not_counted_twice(tmp_path: Path) -> None:
    write_frames(tmp_path, 8)
    out = HeldOutput()
    app = line(tmp_path, BlobEngine(), out, verdicts_queue={"size": 1, "overflow": "drop_oldest"})
    app.start()
    try:
        capture = app.line.stages[-1]
        wait_until(lambda: not capture.is_alive() and app.line.queue_drops()["verdicts"] >= 2)
    finally:
        out.release.set()
    assert app.run_until_stopped()
    drops = app.line.queue_drops()["verdicts"]
    dropped = [m for m in out.messages if m.verdict is not None and m.verdict.failsafe]
    assert len(dropped) == drops and len(out.messages) == 8
    # the rules judged (and counted) each of them a PASS before the drop: no alarm from these drops
    assert codes(dropped) == [(REJECT, [FailSafeCause.FRAME_DROPPED])] * drops
    assert not any(m.verdict is not None and m.verdict.code is ALARM for m in out.messages)
