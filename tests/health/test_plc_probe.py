"""The PLC component of health on a real PlcOutput against the PLC simulator on loopback: link,
results too late to pulse, free-run deadline fail-safes and the late verdicts after them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.app import App, LineParts, build_line
from inspector.app.outputs import Outputs
from inspector.app.watch_probes import plc_probe
from inspector.health.state import ComponentHealth, HealthSnapshot, HealthState
from inspector.plc import PlcConfig, PlcOutput
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.parts import BlobEngine, DefectRules, write_frames
from tests.support.parts import supervised_config as make_config
from tests.support.plc import QUICK, passed_part


@pytest.fixture
def output(sim: PlcSimulator) -> Iterator[PlcOutput]:
    # a 200 ms pulse window: the deadline of a part nobody answers comes quickly
    out = PlcOutput(PlcConfig(**QUICK, port=sim.port, pulses={"late_ms": 200}))
    out.start()
    try:
        yield out
    finally:
        out.stop(timeout=1.0)


def test_deadline_failsafes_and_late_verdicts_degrade_then_recover(output: PlcOutput) -> None:
    probe = plc_probe(Outputs([output]))
    assert wait_until(lambda: output.link_up, timeout=10)
    assert probe().state is HealthState.OK
    t0 = time.monotonic()
    output.captured(1, t0)  # a part the pipeline does not answer within capture + delay + late
    assert wait_until(lambda: output.stats().deadline_failsafes == 1, timeout=10)
    health = probe()
    assert health.state is HealthState.DEGRADED
    assert "1 part(s) failed safe at their deadline (900) (1 total)" in health.detail
    assert probe().state is HealthState.OK  # nothing new since the last look
    output.submit(passed_part(1, t0))  # its verdict, after the deadline: dropped
    assert wait_until(lambda: output.stats().late_verdicts == 1, timeout=10)
    health = probe()
    assert health.state is HealthState.DEGRADED
    assert "1 verdict(s) after their deadline dropped" in health.detail
    assert probe().state is HealthState.OK
    t1 = time.monotonic()
    output.captured(2, t1)
    output.submit(passed_part(2, t1))  # answered in time
    assert wait_until(lambda: output.stats().delivered == 2, timeout=10)
    assert probe().state is HealthState.OK


def test_link_down_and_results_too_late_to_pulse(sim: PlcSimulator, output: PlcOutput) -> None:
    probe = plc_probe(Outputs([output]))
    assert wait_until(lambda: output.link_up, timeout=10)
    sim.stop_answering(True)
    assert wait_until(lambda: probe().detail == "link down", timeout=10)
    t0 = time.monotonic()
    output.captured(1, t0)
    output.submit(passed_part(1, t0))  # in time for its deadline, but held while the PLC does not answer
    time.sleep(0.4)  # past capture + late_ms
    sim.stop_answering(False)
    assert wait_until(lambda: output.stats().late == 1, timeout=10)
    health = probe()
    assert health.state is HealthState.DEGRADED and "1 result(s) too late to pulse" in health.detail
    assert output.stats().deadline_failsafes == 0
    assert probe().state is HealthState.OK


def plc_states(snaps: list[HealthSnapshot]) -> list[ComponentHealth]:
    return [c for s in list(snaps) for c in s.components if c.name == "plc"]


def test_stalled_line_in_free_run_degrades_the_plc_component_then_recovers(
    tmp_path: Path, sim: PlcSimulator
) -> None:
    write_frames(tmp_path / "frames", 8)
    # A 2 s window: wide for a toy engine on a loaded machine, short next to the stall below.
    plc = {**QUICK, "mode": "free_run", "port": sim.port, "pulses": {"late_ms": 2000}}
    config = make_config(tmp_path / "frames", plc=plc, watchdog={"stall_after_s": 30})
    engine, output = BlobEngine(), PlcOutput(config.plc)
    app = App(build_line(config, LineParts(engine, DefectRules(), [output])))
    snaps: list[HealthSnapshot] = []
    app.start()
    try:
        assert app.line.watch is not None
        app.line.watch.add_listener(snaps.append)  # every evaluation: a degraded look is not missed
        assert wait_until(lambda: output.stats().delivered >= 3, timeout=20)
        engine.release.clear()  # inference hangs: the parts queued behind it pass their deadline
        assert wait_until(lambda: output.stats().deadline_failsafes >= 1, timeout=20)
        assert wait_until(lambda: any("deadline (900)" in c.detail for c in plc_states(snaps)), 10)
        degraded = next(c for c in plc_states(snaps) if "deadline (900)" in c.detail)
        assert degraded.state is HealthState.DEGRADED
        engine.release.set()  # the held verdicts come late (dropped), then parts are answered in time
        assert wait_until(lambda: output.stats().late_verdicts >= 1, timeout=20)
        metrics = app.line.watch.metrics.render()
        assert "inspector_plc_deadline_failsafes_total" in metrics
        assert "inspector_plc_late_verdicts_total" in metrics
        # the PLC's deadline fail-safes count in the fail-safes by code (no verdict reached the output)
        assert re.search(r'inspector_failsafes_total\{code="900",origin="plc"\} [1-9]', metrics)
        n = len(snaps)
        assert wait_until(lambda: any(c.state is HealthState.OK for c in plc_states(snaps[n:])), 20)
    finally:
        engine.release.set()
        app.request_shutdown("test over")
        assert app.run_until_stopped()
