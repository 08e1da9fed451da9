"""The whole line into a real Modbus server: App + PlcOutput + the PLC simulator on loopback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.health.state import HealthState
from inspector.messages import Detections, FailSafeCause, VerdictCode
from inspector.plc import PlcOutput
from inspector.plc.records import ResultFlag, StatusBit
from inspector.plc.simulator import PlcSimulator
from inspector.sources.config import FolderSourceConfig
from tests.support import wait_until
from tests.support.parts import BlobEngine, DefectRules, FlakyFolder, run_line, write_frames

FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}


def line_config(folder: Path, plc: dict) -> InspectorConfig:
    return InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder)}],
        runtime={"stats_interval_s": 0.5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
        plc=plc,
    )


def test_free_run_line_reaches_the_plc(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 10)
    # A wide pulse window: this checks delivery through the whole line, not a loaded machine's speed.
    pulses = {"reject_ms": 1, "late_ms": 10000}
    config = line_config(tmp_path, {**FAST_PLC, "port": sim.port, "pulses": pulses})
    output = PlcOutput(config.plc)
    app = App(build_line(config, LineParts(BlobEngine(), DefectRules(), [output])))
    assert run_line(app)
    results = sim.results()
    assert [r.part_id for r in results] == list(range(1, 11))  # free-run part id = frame seq
    rejects = sum(r.verdict is VerdictCode.REJECT for r in results)
    assert output.stats().reject_pulses == rejects
    status_writes = [w for w in sim.writes() if w.address == 0]
    assert status_writes and not status_writes[-1].values[0] & 1  # went offline on stop


def test_triggered_line_answers_every_trigger(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 6)
    config = line_config(tmp_path, {**FAST_PLC, "port": sim.port, "mode": "triggered"})
    app = App(build_line(config, LineParts(BlobEngine(), DefectRules(), [PlcOutput(config.plc)])))
    app.start()
    try:
        sim.play_handshake(0.05, first_part=3000, count=5)
        wait_until(lambda: len(sim.cycles()) == 5, timeout=20)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    cycles = sim.cycles()
    assert [c.result.part_id for c in cycles] == [3000, 3001, 3002, 3003, 3004]
    assert all(c.triggered_part == c.result.part_id for c in cycles)
    assert all(c.result.verdict in (VerdictCode.PASS, VerdictCode.REJECT) for c in cycles)
    assert all(ResultFlag.FAILSAFE not in c.result.flags for c in cycles)  # each part was inspected


def test_camera_lost_part_pulses_the_reject_on_default_timing(tmp_path: Path, sim: PlcSimulator) -> None:
    """Default grab timeout and pulse window: a triggered part whose camera gives no frame is
    failed safe (902) in time for its reject pulse; a PLC wired to the coil alone rejects it."""
    write_frames(tmp_path, 2)
    unplugged = FlakyFolder(
        FolderSourceConfig(kind="folder", path=tmp_path), fail_after=0, fail_reads=10**6, fail_opens=10**6
    )
    config = line_config(tmp_path, {**FAST_PLC, "port": sim.port, "mode": "triggered"})
    output = PlcOutput(config.plc)
    parts = LineParts(BlobEngine(), DefectRules(), [output])
    app = App(build_line(config, parts, sources={"cam0": unplugged}))
    app.start()
    try:
        sim.play_handshake(0.3, first_part=800, count=2)  # parts further apart than a reject pulse
        wait_until(lambda: len(sim.cycles()) == 2, timeout=20)
        wait_until(lambda: output.stats().reject_pulses == 2 and not sim.coil_state(0))
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = [c.result for c in sim.cycles()]
    assert [r.part_id for r in results] == [800, 801]
    assert all(r.first_code == FailSafeCause.CAMERA_LOST for r in results)
    assert all(r.flags == ResultFlag.FAILSAFE for r in results)  # not late: the pulse fired
    assert sim.coil_rises(0) == 2 and output.stats().late == 0


def test_triggered_line_with_a_live_camera_inspects_the_scene_after_each_trigger(sim: PlcSimulator) -> None:
    from tests.support.live_camera import BufferedLiveCamera, number

    class SeeingEngine(BlobEngine):
        def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
            self.seen.extend(number(f) for f in frames)
            return super().infer(frames)

    camera, engine = BufferedLiveCamera(fps=100.0, buffer=32), SeeingEngine()
    engine.seen = []
    config = InspectorConfig(
        sources=[{"kind": "camera", "id": "cam0", "uri": "0"}],  # a live device: grab: auto → latest
        runtime={"stats_interval_s": 0.5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
        plc={**FAST_PLC, "port": sim.port, "mode": "triggered"},
    )
    app = App(
        build_line(
            config, LineParts(engine, DefectRules(), [PlcOutput(config.plc)]), sources={"cam0": camera}
        )
    )
    app.start()
    try:
        sim.play_handshake(0.2, first_part=500, count=4)  # the camera buffer fills between triggers
        wait_until(lambda: len(sim.cycles()) == 4, timeout=20)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    cycles = sim.cycles()
    assert [c.result.part_id for c in cycles] == [500, 501, 502, 503]
    assert all(ResultFlag.FAILSAFE not in c.result.flags for c in cycles)
    assert len(engine.seen) == 4 and app.line.source_stats()[0].frames == 4  # one frame per trigger
    for cycle, frame_number in zip(cycles, engine.seen, strict=True):
        assert cycle.t_trigger is not None
        # exposed after the PLC's trigger: a plain reader would have taken the oldest buffered frame
        assert camera.exposed_at[frame_number] >= cycle.t_trigger - camera.period


def supervised_config(folder: Path, plc: dict) -> InspectorConfig:
    """A looping folder line with fast watchdogs and health, so a stall is seen in well under 1 s."""
    return InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder), "loop": True, "fps_limit": 30}],
        runtime={
            "stats_interval_s": 5,
            "poll_timeout_s": 0.02,
            "frames_queue": {"size": 4, "overflow": "block"},
        },
        watchdog={"liveness_interval_s": 0.05, "stall_after_s": 0.5, "rss_interval_s": 0.2},
        health={"interval_s": 0.05},
        plc=plc,
    )


def status_word(sim: PlcSimulator) -> StatusBit:
    return StatusBit(sim.read_registers(0, 1)[0])


def test_health_drives_the_fault_bit(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 4)
    engine = BlobEngine()
    config = supervised_config(tmp_path, {**FAST_PLC, "port": sim.port, "pulses": {"late_ms": 10000}})
    app = App(build_line(config, LineParts(engine, DefectRules(), [PlcOutput(config.plc)])))
    app.start()
    try:
        wait_until(lambda: len(sim.results()) >= 3, timeout=20)
        assert StatusBit.FAULT not in status_word(sim) and StatusBit.ONLINE in status_word(sim)
        engine.release.clear()  # inference hangs: the liveness watchdog finds the stage stalled
        wait_until(lambda: StatusBit.FAULT in status_word(sim), timeout=20)
        assert app.line.watch.health.last is not None
        assert app.line.watch.health.last.state is HealthState.FAILING
        engine.release.set()  # recovered: progress again, health back, the bit is cleared
        wait_until(lambda: StatusBit.FAULT not in status_word(sim), timeout=20)
    finally:
        engine.release.set()
        app.request_shutdown("test done")
        assert app.run_until_stopped()


class AutoDeviceBlobEngine(BlobEngine):
    """Configured ``device: auto`` like the real engine, and it ended up on the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.config = EngineConfig(device="auto")


def test_cpu_fallback_sets_the_degraded_bit(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 4)
    config = supervised_config(tmp_path, {**FAST_PLC, "port": sim.port, "pulses": {"late_ms": 10000}})
    app = App(build_line(config, LineParts(AutoDeviceBlobEngine(), DefectRules(), [PlcOutput(config.plc)])))
    app.start()
    try:
        wait_until(lambda: StatusBit.DEGRADED in status_word(sim), timeout=20)
        assert StatusBit.FAULT not in status_word(sim)
    finally:
        app.request_shutdown("test done")
        assert app.run_until_stopped()


def test_status_flags_from_health() -> None:
    from inspector.app.watch_probes import plc_status_flags
    from inspector.health.state import ComponentHealth, HealthSnapshot

    def snap(state: HealthState) -> HealthSnapshot:
        return HealthSnapshot(state, (ComponentHealth("x", state),))

    gpu = BlobEngine()
    gpu.device, gpu.config = torch.device("cuda", 0), EngineConfig(device="auto")
    cpu_asked = BlobEngine()
    cpu_asked.config = EngineConfig(device="cpu")
    assert plc_status_flags(snap(HealthState.OK), gpu) == {"fault": False, "degraded": False}
    assert plc_status_flags(snap(HealthState.DEGRADED), gpu) == {"fault": False, "degraded": True}
    assert plc_status_flags(snap(HealthState.FAILING), gpu) == {"fault": True, "degraded": False}
    assert plc_status_flags(snap(HealthState.OK), cpu_asked) == {"fault": False, "degraded": False}
    assert plc_status_flags(snap(HealthState.OK), AutoDeviceBlobEngine())["degraded"] is True
