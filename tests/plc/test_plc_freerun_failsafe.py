"""Free-run fail-safe through the whole line: App + PlcOutput + the PLC simulator on loopback.

Every captured frame is a part: its verdict if it comes in time, else a fail-safe result
(900 past its pulse deadline, 901 dropped, 905 stopped), exactly once, in seq order.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, VerdictCode
from inspector.plc import PlcOutput
from inspector.plc.records import DecodedResult, ResultFlag
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.parts import BlobEngine, DefectRules, run_line, write_frames
from tests.support.plc import frame, quick_config, verdict

FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}


def line_config(folder: Path, plc: dict[str, Any], **runtime: Any) -> InspectorConfig:
    rt = {"stats_interval_s": 0.5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}, **runtime}
    return InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder)}], runtime=rt, plc=plc
    )


def hung_line(config: InspectorConfig) -> tuple[App, PlcOutput, BlobEngine]:
    engine = BlobEngine()
    engine.release.clear()  # the inference stage stalls on the first frame
    output = PlcOutput(config.plc)
    return App(build_line(config, LineParts(engine, DefectRules(), [output]))), output, engine


def assert_each_part_once_in_order(results: list[DecodedResult], parts: int) -> None:
    assert [r.part_id for r in results] == list(range(1, parts + 1))  # part id = frame seq, no gaps
    assert [r.seq for r in results] == list(range(1, parts + 1))  # the block counter has no gaps


def test_stalled_stage_fails_each_part_safe_at_its_deadline_with_one_pulse(
    tmp_path: Path, sim: PlcSimulator
) -> None:
    write_frames(tmp_path, 6)  # all six are captured while inference stalls (the queues hold them)
    plc = {**FAST_PLC, "port": sim.port, "pulses": {"reject_ms": 5, "late_ms": 400}}
    app, output, engine = hung_line(line_config(tmp_path, plc))
    app.start()
    try:
        wait_until(lambda: len(sim.results()) == 6, timeout=20)
        assert output.stats().deadline_failsafes == 6
        wait_until(lambda: output.stats().reject_pulses == 6)
    finally:
        engine.release.set()  # the stalled verdicts now arrive, all of them too late
    assert run_line(app, start=False)
    results = sim.results()
    assert_each_part_once_in_order(results, 6)  # the late verdicts wrote no second block
    for result in results:
        assert (result.verdict, result.first_code) == (VerdictCode.REJECT, FailSafeCause.DEADLINE)
        assert ResultFlag.FAILSAFE in result.flags and ResultFlag.LATE not in result.flags
    stats = output.stats()
    assert stats.late_verdicts == 6 and stats.submitted == 6
    assert (stats.reject_pulses, stats.pulse_failures, stats.late) == (6, 0, 0)  # no second pulse
    assert sim.coil_rises(0) == 6 - stats.merged_pulses
    assert not sim.coil_state(0)


def test_verdicts_in_time_are_not_failed_safe(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 8)
    plc = {**FAST_PLC, "port": sim.port, "pulses": {"reject_ms": 1, "late_ms": 10000}}
    config = line_config(tmp_path, plc)
    output = PlcOutput(config.plc)
    app = App(build_line(config, LineParts(BlobEngine(), DefectRules(), [output])))
    app.start()
    assert run_line(app, start=False)
    results = sim.results()
    assert_each_part_once_in_order(results, 8)
    assert not any(ResultFlag.FAILSAFE in r.flags for r in results)
    assert output.stats().deadline_failsafes == 0 and output.stats().late_verdicts == 0


def test_dropped_frames_reach_the_plc_as_901_in_seq_order(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 12)
    plc = {**FAST_PLC, "port": sim.port, "pulses": {"reject_ms": 1, "late_ms": 10000}}
    config = line_config(
        tmp_path,
        plc,
        frames_queue={"size": 1, "overflow": "drop_oldest"},
        preprocessed_queue={"size": 1},
        detections_queue={"size": 1},
    )
    app, output, engine = hung_line(config)
    app.start()
    try:
        wait_until(lambda: app.line.source_stats()[0].frames == 12, timeout=20)  # the camera never waits
    finally:
        engine.release.set()
    assert run_line(app, start=False)
    drops = app.line.queue_drops()["frames"]
    assert drops >= 1
    results = sim.results()
    assert_each_part_once_in_order(results, 12)  # dropped frames overtook nothing
    dropped = [r for r in results if r.first_code == FailSafeCause.FRAME_DROPPED]
    assert len(dropped) == drops
    assert all(r.verdict is VerdictCode.REJECT and ResultFlag.FAILSAFE in r.flags for r in dropped)
    inspected = [r for r in results if ResultFlag.FAILSAFE not in r.flags]
    assert len(inspected) == 12 - drops
    rejects = sum(r.verdict is VerdictCode.REJECT for r in results)
    assert output.stats().reject_pulses == rejects  # a pulse for each rejected part, fail-safe too


def test_frames_still_in_the_line_at_shutdown_are_905(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 9)
    plc = {**FAST_PLC, "port": sim.port, "pulses": {"reject_ms": 1, "late_ms": 10000}}
    app, output, engine = hung_line(line_config(tmp_path, plc, frames_queue={"size": 2}))
    app.start()
    try:
        # one frame in inference, 4 queued for it, 1 in preprocessing, 2 queued for it, 1 in capture
        wait_until(
            lambda: app.line.source_stats()[0].frames == 9 and app.line.queue_depths()["frames"] == 2, 20
        )
        assert app.stop(deadline_s=2.0) is False  # inference never finishes: the drain deadline passes
    finally:
        engine.release.set()
    captured = 9
    results = sim.results()
    assert_each_part_once_in_order(results, captured)
    # queued or held frames (the App) and the one inference never returned (the PLC output) alike
    assert all(r.first_code == FailSafeCause.SHUTDOWN and ResultFlag.FAILSAFE in r.flags for r in results)
    assert output.stats().reject_pulses == captured


def test_role_off_counts_deadline_failsafes_without_io(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    app, output, engine = hung_line(line_config(tmp_path, {"role": "off", "pulses": {"late_ms": 200}}))
    app.start()
    try:
        wait_until(lambda: output.stats().deadline_failsafes == 3, timeout=20)
    finally:
        engine.release.set()
    assert run_line(app, start=False)
    stats = output.stats()
    assert (stats.delivered, stats.errors, stats.late_verdicts, stats.ok + stats.ng) == (3, 3, 3, 0)


def test_server_role_serves_the_deadline_failsafe(tmp_path: Path) -> None:
    client_mod = pytest.importorskip("pyModbusTCP.client")
    from inspector.plc.records import decode_result

    write_frames(tmp_path, 2)
    plc = {"role": "server", "server": {"host": "127.0.0.1", "port": 0}, "pulses": {"late_ms": 200}}
    app, output, engine = hung_line(line_config(tmp_path, plc))
    app.start()
    try:
        wait_until(lambda: output.stats().delivered == 2, timeout=20)
        port = int(output.stats().link.rsplit(":", 1)[1])
        polling = client_mod.ModbusClient(host="127.0.0.1", port=port, timeout=2.0, auto_open=True)
        try:
            block = decode_result(polling.read_holding_registers(10, 27), 4)
        finally:
            polling.close()
        assert (block.seq, block.part_id, block.first_code) == (2, 2, FailSafeCause.DEADLINE)
        assert block.verdict is VerdictCode.REJECT and block.errors == 2
    finally:
        engine.release.set()
    assert run_line(app, start=False)
    assert output.stats().late_verdicts == 2


def test_results_leave_in_capture_order(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"late_ms": 10000}))
    t0 = time.monotonic()
    for seq in (1, 2, 3):
        out.captured(seq, t0)
    out.submit(frame(3, verdict(VerdictCode.PASS), t_capture=t0))
    out.submit(frame(2, verdict(VerdictCode.PASS), t_capture=t0))
    time.sleep(0.1)
    assert sim.results() == []  # part 1 has no answer yet: nobody overtakes it
    out.submit(frame(1, verdict(VerdictCode.PASS), t_capture=t0))
    wait_until(lambda: len(sim.results()) == 3)
    assert [r.part_id for r in sim.results()] == [1, 2, 3]


def test_deadline_is_the_end_of_the_pulse_window_and_alarms_if_configured(
    sim: PlcSimulator, make_output
) -> None:
    pulses = {"delay_ms": 150, "late_ms": 150, "alarm_ms": 5}
    out = make_output(quick_config(sim.port, pulses=pulses, failsafe={"action": "alarm"}))
    wait_until(lambda: out.link_up)
    t0 = time.monotonic()
    out.captured(1, t0)
    wait_until(lambda: sim.results())
    (result,) = sim.results()
    assert (result.part_id, result.verdict, result.first_code) == (
        1,
        VerdictCode.ALARM,
        FailSafeCause.DEADLINE,
    )
    assert ResultFlag.LATE not in result.flags
    block = next(w for w in sim.writes() if w.function_code == 16 and w.address == 10)
    assert block.t - t0 >= 0.3  # not before capture + delay + late
    wait_until(lambda: sim.coil_rises(1) == 1)  # the alarm coil, at once
    out.submit(frame(1, verdict(VerdictCode.PASS), t_capture=t0))  # the verdict, too late
    wait_until(lambda: out.stats().late_verdicts == 1)
    time.sleep(0.05)
    assert len(sim.results()) == 1 and sim.coil_rises(0) == 0
