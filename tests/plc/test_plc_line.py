"""The whole line into a real Modbus server: App + PlcOutput + the PLC simulator on loopback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from conftest import wait_until

from inspector.app import App, Components
from inspector.config.settings import InspectorConfig
from inspector.messages import Detections, VerdictCode
from inspector.plc import PlcOutput
from inspector.plc.records import ResultFlag
from inspector.plc.sim import PlcSimulator
from tests.runtime.parts import BlobEngine, DefectRules, run_line, write_frames

FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}


def line_config(folder: Path, plc: dict) -> InspectorConfig:
    return InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder)}],
        runtime={"stats_interval_s": 0.5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
        plc=plc,
    )


def test_free_run_line_reaches_the_plc(tmp_path: Path, sim: PlcSimulator) -> None:
    write_frames(tmp_path, 10)
    config = line_config(tmp_path, {**FAST_PLC, "port": sim.port, "pulses": {"reject_ms": 1}})
    output = PlcOutput(config.plc)
    app = App(config, Components(BlobEngine(), DefectRules(), output))
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
    app = App(config, Components(BlobEngine(), DefectRules(), PlcOutput(config.plc)))
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


def test_triggered_line_with_a_live_camera_inspects_the_scene_after_each_trigger(sim: PlcSimulator) -> None:
    from tests.runtime.live_camera import BufferedLiveCamera, number

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
    app = App(config, Components(engine, DefectRules(), PlcOutput(config.plc)), sources={"cam0": camera})
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
    assert len(engine.seen) == 4 and app.source_stats()[0].frames == 4  # one frame per trigger
    for cycle, frame_number in zip(cycles, engine.seen, strict=True):
        assert cycle.t_trigger is not None
        # exposed after the PLC's trigger: a plain reader would have taken the oldest buffered frame
        assert camera.exposed_at[frame_number] >= cycle.t_trigger - camera.period
