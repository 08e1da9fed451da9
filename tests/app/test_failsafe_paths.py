"""Every fail-safe path of the App: a part that cannot get a real verdict reaches the output
rejected with its reason code (901 dropped, 902 camera lost, 905 shutdown, 906 trigger overrun),
exactly once. Triggered parts through the real PlcOutput and the PLC simulator where the PLC
side can produce the case; the trigger-queue cases need a PLC that triggers faster than the
handshake allows, which the in-process ``TriggeringOutput`` stands in for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, FrameMsg
from inspector.plc import PlcOutput
from inspector.plc.records import ResultFlag
from inspector.plc.simulator import PlcSimulator
from inspector.sources.config import FolderSourceConfig
from tests.support import wait_until
from tests.support.parts import (
    BlobEngine,
    DefectRules,
    FlakyFolder,
    RecordingOutput,
    Trigger,
    TriggeringOutput,
    run_line,
    write_frames,
)

FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}


def config(folder: Path, plc: dict[str, Any], cameras: int = 1, **runtime: Any) -> InspectorConfig:
    sources = [{"kind": "folder", "id": f"cam{i}", "path": str(folder), "loop": True} for i in range(cameras)]
    rt = {"poll_timeout_s": 0.02, "stats_interval_s": 0.5, **runtime}
    return InspectorConfig(sources=sources, runtime=rt, plc=plc)


def small_queues(overflow: str = "block") -> dict[str, Any]:
    one = {"size": 1, "overflow": "block"}
    return {
        "frames_queue": one,
        "preprocessed_queue": one,
        "triggers_queue": {"size": 1, "overflow": overflow},
    }


def hung_engine() -> BlobEngine:
    engine = BlobEngine()
    engine.release.clear()
    return engine


def causes(messages: list[FrameMsg]) -> dict[int | None, int]:
    return {m.part_id: m.verdict.first_code for m in messages if m.verdict is not None}


def test_free_run_without_a_plc_answers_every_dropped_frame_901(tmp_path: Path) -> None:
    write_frames(tmp_path, 10)
    engine = hung_engine()
    out = RecordingOutput()
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"poll_timeout_s": 0.02, "frames_queue": {"size": 1, "overflow": "drop_oldest"},
                 "preprocessed_queue": {"size": 1}},
    )  # fmt: skip
    app = App(build_line(cfg, LineParts(engine, DefectRules(), [out])))
    app.start()
    try:
        wait_until(lambda: app.line.source_stats()[0].frames == 10)
    finally:
        engine.release.set()
    assert app.run_until_stopped()
    assert sorted(m.seq for m in out.messages) == list(range(1, 11))  # every captured frame, once
    dropped = [m for m in out.messages if m.verdict is not None and m.verdict.failsafe]
    assert len(dropped) == app.line.queue_drops()["frames"] >= 1
    assert all(m.verdict.first_code == FailSafeCause.FRAME_DROPPED for m in dropped)  # type: ignore[union-attr]


def test_trigger_overrun_fails_the_part_safe_906(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    engine, out = hung_engine(), TriggeringOutput()
    app = App(
        build_line(
            config(tmp_path, {"mode": "triggered"}, **small_queues("drop_oldest")),
            LineParts(engine, DefectRules(), [out]),
        )
    )
    app.start()
    try:
        for part in range(200, 212):
            out.triggers.put(Trigger(part))
        wait_until(lambda: out.triggers.empty() and app.line.queue_drops()["triggers.cam0"] >= 1)
    finally:
        engine.release.set()
    wait_until(lambda: len(out.messages) == 12)
    assert app.stop(5.0)
    answered = causes(out.messages)
    assert sorted(m.part_id for m in out.messages) == list(range(200, 212))  # each part once
    overrun = [p for p, code in answered.items() if code == FailSafeCause.TRIGGER_OVERRUN]
    assert len(overrun) == app.line.queue_drops()["triggers.cam0"]
    assert all(code in (0, 10, FailSafeCause.TRIGGER_OVERRUN) for code in answered.values())


def test_dispatcher_waiting_on_a_full_trigger_queue_stops_and_fails_safe_905(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    engine, out = hung_engine(), TriggeringOutput()
    app = App(
        build_line(
            config(tmp_path, {"mode": "triggered"}, **small_queues("block")),
            LineParts(engine, DefectRules(), [out]),
        )
    )
    app.start()
    try:
        for part in range(300, 310):
            out.triggers.put(Trigger(part))
        # 300 in inference, 301 queued for it, 302 in preprocessing, 303 queued for it, 304 in
        # capture, 305 in the trigger queue, 306 held by the dispatcher: three are left at the PLC
        wait_until(lambda: out.triggers.qsize() == 3 and app.line.queue_depths()["triggers.cam0"] == 1)
        assert app.stop(deadline_s=0.5) is False  # inference never returns
        assert [s.name for s in app.line.stage_status() if s.alive] == ["infer"]  # the dispatcher ended
    finally:
        engine.release.set()
    answered = causes(out.messages)
    # the part inside the hung engine is the PLC output's to fail safe (watcher, at its shutdown)
    assert sorted(m.part_id for m in out.messages) == list(range(301, 307))  # type: ignore[type-var]
    assert set(answered.values()) == {FailSafeCause.SHUTDOWN}


def test_camera_lost_after_a_trigger_is_902_at_the_plc(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 2)
    unplugged = FlakyFolder(
        FolderSourceConfig(kind="folder", path=tmp_path), fail_after=0, fail_reads=10**6, fail_opens=10**6
    )
    cfg = config(tmp_path, {**FAST_PLC, "port": sim.port, "mode": "triggered"}, trigger_grab_timeout_s=0.2)
    output = PlcOutput(cfg.plc)
    app = App(build_line(cfg, LineParts(BlobEngine(), DefectRules(), [output]), sources={"cam0": unplugged}))
    app.start()
    try:
        sim.play_handshake(0.05, first_part=700, count=2)
        wait_until(lambda: len(sim.cycles()) == 2)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = [c.result for c in sim.cycles()]
    assert [r.part_id for r in results] == [700, 701]
    assert all(r.first_code == FailSafeCause.CAMERA_LOST and ResultFlag.FAILSAFE in r.flags for r in results)
    assert output.stats().deadline_failsafes == 0  # answered by the camera path, not the deadline


def test_triggered_frame_still_queued_at_shutdown_is_905_at_the_plc(
    tmp_path: Path, sim: PlcSimulator
) -> None:
    write_frames(tmp_path, 2)
    engine = hung_engine()
    plc = {**FAST_PLC, "port": sim.port, "mode": "triggered", "handshake": {"inspect_timeout_ms": 30000}}
    cfg = config(tmp_path, plc, cameras=2)
    output = PlcOutput(cfg.plc)
    app = App(build_line(cfg, LineParts(engine, DefectRules(), [output])))
    app.start()
    try:
        sim.play_handshake(0.05, first_part=40, count=1)
        # one camera's frame of part 40 hangs in inference, the other's waits in the queue
        wait_until(lambda: engine.calls == [1] and app.line.queue_depths()["preprocessed"] == 1)
        assert app.stop(deadline_s=0.5) is False
    finally:
        engine.release.set()
    results = sim.results()
    assert [(r.part_id, r.first_code) for r in results] == [(40, FailSafeCause.SHUTDOWN)]
    assert ResultFlag.FAILSAFE in results[0].flags
    assert app.line.stats.total()["failsafe"] == 1  # it went through the App's output stage, logged


def test_normal_run_has_no_failsafe(tmp_path: Path) -> None:
    write_frames(tmp_path, 4)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
        plc={"role": "off", "pulses": {"late_ms": 10000}},
    )
    output = PlcOutput(cfg.plc)
    assert run_line(App(build_line(cfg, LineParts(BlobEngine(), DefectRules(), [output]))))
    stats = output.stats()
    assert (stats.delivered, stats.errors, stats.deadline_failsafes, stats.late_verdicts) == (4, 0, 0, 0)
