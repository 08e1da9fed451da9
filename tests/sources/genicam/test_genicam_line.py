"""Whole lines on pylon's camera emulation: free run against the folder source, and the PLC
simulator's triggered handshake on 127.0.0.1 firing the camera by software trigger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, VerdictCode
from inspector.plc import PlcOutput
from inspector.plc.records import DecodedResult, ResultFlag
from inspector.plc.simulator import PlcSimulator
from inspector.sources.genicam.source import GenicamSource
from inspector.sources.reader import SourceState
from tests.sources.genicam.conftest import SERIALS, emulated
from tests.support import wait_until
from tests.support.logs import LogCapture
from tests.support.parts import BlobEngine, DefectRules, RecordingOutput, run_line, write_frames

pytestmark = pytest.mark.usefixtures("pylon")
FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}
RUNTIME = {"stats_interval_s": 0.5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}}


def camera_entry(folder: Path, serial: str = SERIALS[0], **overrides: Any) -> dict[str, Any]:
    entry = emulated(folder, serial, pixel_format="BGR8", trigger="software", **overrides)
    return entry.model_dump(mode="json")


def verdicts(source: dict[str, Any], count: int) -> list[tuple[int, VerdictCode]]:
    """(part id, verdict) of a free-running line over ``count`` frames of ``source``."""
    config = InspectorConfig(sources=[source], runtime={**RUNTIME, "max_frames": count})
    out = RecordingOutput()
    assert run_line(App(build_line(config, LineParts(BlobEngine(), DefectRules(), [out]))))
    answered = sorted(out.messages, key=lambda m: m.seq)
    assert all(m.verdict is not None and not m.verdict.failsafe for m in answered)
    return [(m.part_id, m.verdict.code) for m in answered if m.verdict is not None]


def test_bgr8_line_gives_the_folder_sources_verdicts(tmp_path: Path) -> None:
    write_frames(tmp_path, 8)
    from_camera = verdicts(camera_entry(tmp_path), 8)
    from_folder = verdicts({"kind": "folder", "id": "cam0", "path": str(tmp_path)}, 8)
    assert len(from_camera) == 8 and from_camera == from_folder
    assert {code for _, code in from_folder} == {VerdictCode.PASS, VerdictCode.REJECT}  # both kinds seen


def test_the_cameras_frame_counter_reaches_the_inspection_event_and_the_archive(
    tmp_path: Path, logs: LogCapture
) -> None:
    write_frames(tmp_path / "frames", 6)
    archive_dir = tmp_path / "archive"
    config = InspectorConfig(
        sources=[camera_entry(tmp_path / "frames", grab="sequential")],
        runtime={**RUNTIME, "max_frames": 6},
        archive={"enabled": True, "dir": str(archive_dir), "min_free_mib": 0},
    )
    out = RecordingOutput()
    assert run_line(App(build_line(config, LineParts(BlobEngine(), DefectRules(), [out]))))
    events = sorted(logs.events("inspection"), key=lambda e: e["seq"])
    ids = [e["device_frame_id"] for e in events]
    assert len(ids) == 6 and ids == list(range(ids[0], ids[0] + 6))  # one exposure per frame, in order
    assert all("device_timestamp" not in e for e in events)  # the emulator gives no ticks: not shown
    by_seq = {m.seq: m.device_frame_id for m in out.messages}
    assert by_seq == {e["seq"]: e["device_frame_id"] for e in events}
    records = [json.loads(path.read_text()) for path in archive_dir.rglob("*.json")]
    assert records and all(r["device_frame_id"] == by_seq[r["seq"]] for r in records)
    assert all("device_timestamp" not in r for r in records)


def triggered_app(sim: PlcSimulator, source: dict[str, Any]) -> tuple[App, PlcOutput]:
    config = InspectorConfig(
        sources=[source], runtime=RUNTIME, plc={**FAST_PLC, "port": sim.port, "mode": "triggered"}
    )
    output = PlcOutput(config.plc)
    return App(build_line(config, LineParts(BlobEngine(), DefectRules(), [output]))), output


def test_each_plc_trigger_fires_the_camera_once(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 4)
    app, _ = triggered_app(sim, camera_entry(tmp_path, SERIALS[1]))
    app.start()
    try:
        wait_until(lambda: app.line.source_stats()[0].state is SourceState.CONNECTED, timeout=20)
        sim.play_handshake(0.05, first_part=700, count=6)
        wait_until(lambda: len(sim.cycles()) == 6, timeout=20)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    cycles = sim.cycles()
    assert [c.result.part_id for c in cycles] == list(range(700, 706))
    assert all(c.triggered_part == c.result.part_id for c in cycles)
    assert all(ResultFlag.FAILSAFE not in c.result.flags for c in cycles)
    stats = app.line.source_stats()[0]
    assert stats.frames == 6 and stats.device["lost_frames"] == 0  # one exposure per trigger


def test_a_trigger_with_the_camera_gone_is_failed_safe_with_its_pulse(
    tmp_path: Path, sim: PlcSimulator
) -> None:
    write_frames(tmp_path, 2)
    absent = camera_entry(tmp_path, "0815-0009", reconnect_initial_s=0.02, reconnect_max_s=0.05)
    app, output = triggered_app(sim, absent)
    app.start()
    try:
        sim.play_handshake(0.3, first_part=900, count=2)
        wait_until(lambda: len(sim.cycles()) == 2, timeout=20)
        wait_until(lambda: output.stats().reject_pulses == 2 and not sim.coil_state(0))
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = [c.result for c in sim.cycles()]
    assert [r.part_id for r in results] == [900, 901]
    assert all(r.first_code == FailSafeCause.CAMERA_LOST for r in results)
    assert app.line.source_stats()[0].frames == 0  # no frame invented


def answered(sim: PlcSimulator) -> list[DecodedResult]:
    """Results the PLC read for the part it triggered (a stopped handshake can leave the last
    result posted, and the next one reads it again as an unmatched cycle)."""
    return [c.result for c in sim.cycles() if c.triggered_part == c.result.part_id]


def test_removal_mid_run_fails_parts_safe_then_reconnects(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 4)
    entry = camera_entry(tmp_path, SERIALS[2], reconnect_initial_s=0.05, reconnect_max_s=0.2)
    app, _ = triggered_app(sim, entry)
    app.start()
    try:
        reader = app.line.readers[0]
        wait_until(lambda: reader.state is SourceState.CONNECTED, timeout=20)
        sim.play_handshake(0.05, first_part=1, count=3)
        wait_until(lambda: len(answered(sim)) == 3, timeout=20)
        sim.stop_program()  # one handshake at a time
        source = reader._source
        assert isinstance(source, GenicamSource) and source._camera is not None
        source._camera.execute("FirePnPCallback")  # the emulator's unplug
        sim.play_handshake(0.05, first_part=4, count=3)
        wait_until(lambda: len(answered(sim)) == 6, timeout=20)
        sim.stop_program()
        wait_until(
            lambda: reader.stats().reconnects >= 1 and reader.state is SourceState.CONNECTED, timeout=20
        )
        sim.play_handshake(0.05, first_part=7, count=2)
        wait_until(lambda: len(answered(sim)) == 8, timeout=20)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = answered(sim)
    assert [r.part_id for r in results] == list(range(1, 9))  # every part answered once, none invented
    failed = [r for r in results if ResultFlag.FAILSAFE in r.flags]
    assert all(r.first_code == FailSafeCause.CAMERA_LOST for r in failed)
    assert all(ResultFlag.FAILSAFE not in r.flags for r in results[:3] + results[6:])  # before and after
    assert app.line.source_stats()[0].frames == len(results) - len(failed)
