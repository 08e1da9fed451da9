"""The soak script's own logic, without running a line: its verdict on a report, and fault plans
spread over frames (the soak itself is a script run by .ci/run, not part of the test run)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.support import wait_until
from tests.support.notify import Counter

SOAK = Path(__file__).resolve().parents[1] / "soak"


def soak_module(name: str) -> ModuleType:
    """A module of the soak script (not a package), under a name that cannot clash."""
    spec = importlib.util.spec_from_file_location(f"soak_{name}", SOAK / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


faults = soak_module("faults")
FaultPlan, FaultyCamera = faults.FaultPlan, faults.FaultyCamera
judge = soak_module("judge")
failures, line_verdicts_lost, plc_verdicts_lost = (
    judge.failures,
    judge.line_verdicts_lost,
    judge.plc_verdicts_lost,
)

REQUESTED = {"plc_outages": 20, "camera_faults": 20}


def passing_report() -> dict[str, Any]:
    return {
        "ended": "duration",
        "captured": 1000,
        "verdicts_lost": 0,
        "plc_verdicts_lost": 0,
        "plc": {"submitted": 1000, "delivered": 1000, "dropped": 0, "pending": 0, "late_verdicts": 0},
        "faults": {
            "plc_outages": 20,
            "camera_faults": 20,
            "frames_after_last_camera_fault": 50,
            "injection_errors": [],
        },
        "plc_link_up_at_end": True,
        "clean_stop": True,
        "health_state_at_end": "degraded",  # full queues at full speed: back-pressure, allowed
        "health_at_end": "degraded: stages degraded (infer queue 4/4)",
        "exit_code": None,
    }


def test_a_clean_run_passes_even_with_degraded_health() -> None:
    assert failures(passing_report(), REQUESTED, frames=None) == []


def test_unrecovered_faults_and_hanging_verdicts_fail_with_reasons() -> None:
    report = passing_report()
    report["plc"]["pending"] = 3  # still waiting for a PLC that never came back
    report["plc_link_up_at_end"] = False
    report["faults"].update(camera_faults=12, frames_after_last_camera_fault=0)
    report["faults"]["injection_errors"] = ["OSError('sim gone')"]
    why = "\n".join(failures(report, REQUESTED, frames=None))
    for needle in (
        "3 verdicts still pending at the PLC",
        "PLC link not up at the end",
        "only 12 of 20 camera faults were injected",
        "fault injection error: OSError('sim gone')",
        "no frame captured after the last camera fault",
    ):
        assert needle in why
    assert "plc outages" not in why


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"verdicts_lost": 2}, "2 verdicts lost on the line"),
        ({"plc_verdicts_lost": 1}, "1 verdicts lost at the PLC"),
        ({"plc_verdicts_lost": -1}, "-1 verdicts lost at the PLC"),  # a part answered twice
        ({"clean_stop": False}, "did not stop cleanly"),
        ({"health_state_at_end": "failing"}, "health failing at the end"),
        ({"exit_code": 75}, "exit code 75"),
        ({"ended": "no frame captured for 300 s"}, "ended early: no frame captured"),
        ({"captured": 900}, "only 900 of the 1000 requested frames"),
    ],
)
def test_each_failure_is_named(change: dict[str, Any], needle: str) -> None:
    report = {**passing_report(), **change}
    assert any(needle in reason for reason in failures(report, REQUESTED, frames=1000))


def test_dropped_results_at_the_plc_fail_the_run() -> None:
    report = passing_report()
    report["plc"]["dropped"] = 2  # counted, but those parts got no block and no pulse
    assert "2 results dropped at the PLC output (buffer overrun)" in failures(report, REQUESTED, None)


def test_dropped_frames_are_answered_so_not_subtracted_twice() -> None:
    # 1000 captured, 30 dropped by a full queue: each is answered as fail-safe 901
    assert line_verdicts_lost(captured=1000, answered=1000) == 0
    assert line_verdicts_lost(captured=1000, answered=970) == 30  # 30 frames never answered


def plc(**figures: int) -> dict[str, int]:
    base = {"submitted": 0, "deadline_failsafes": 0, "failed_at_shutdown": 0, "late_verdicts": 0}
    return {**base, "delivered": 0, "dropped": 0, "pending": 0, **figures}


def test_plc_accounting_is_exact() -> None:
    # 100 verdicts in time, written
    assert plc_verdicts_lost(plc(submitted=100, delivered=100)) == 0
    # 6 parts past their deadline (900 written), their 6 verdicts after it dropped
    assert plc_verdicts_lost(plc(submitted=106, deadline_failsafes=6, late_verdicts=6, delivered=106)) == 0
    # 4 of those deadline parts never got their verdict at all (the line stopped first)
    assert plc_verdicts_lost(plc(submitted=102, deadline_failsafes=6, late_verdicts=2, delivered=106)) == 0
    # 3 parts open at shutdown (905), one of whose verdicts came after that; 2 results still
    # held for a PLC that is down, 1 dropped by an overrun: all accounted for
    figures = plc(submitted=51, failed_at_shutdown=3, late_verdicts=1, delivered=50, dropped=1, pending=2)
    assert plc_verdicts_lost(figures) == 0
    # a verdict taken on and never written, dropped or held is lost; a part answered twice is -1
    assert plc_verdicts_lost(plc(submitted=10, delivered=9)) == 1
    assert plc_verdicts_lost(plc(submitted=10, delivered=11)) == -1


def test_plc_accounting_on_a_real_output_against_the_simulator() -> None:
    from inspector.plc import PlcConfig, PlcOutput
    from inspector.plc.simulator import PlcSimulator
    from tests.support.plc import QUICK, passed_part

    with PlcSimulator() as sim:
        out = PlcOutput(PlcConfig(**QUICK, port=sim.port, pulses={"late_ms": 200}))
        out.start()
        try:
            assert wait_until(lambda: out.link_up, timeout=10)
            t0 = time.monotonic()
            for seq in (1, 2, 3):
                out.captured(seq, t0)
            out.submit(passed_part(1, t0))  # in time
            assert wait_until(lambda: out.stats().deadline_failsafes == 2, timeout=10)  # 2 and 3
            out.submit(passed_part(2, t0))  # after its deadline: dropped; 3 never gets a verdict
            assert wait_until(lambda: out.stats().late_verdicts == 1, timeout=10)
            out.captured(4, time.monotonic())  # still open when the output stops: 905
        finally:
            out.stop(timeout=2.0)
        stats = out.stats()
        figures = {key: getattr(stats, key) for key in judge.PLC_FIGURES if hasattr(stats, key)}
        assert (figures["submitted"], figures["delivered"]) == (2, 4)
        assert plc_verdicts_lost({**figures, "failed_at_shutdown": 1}) == 0
        assert [r.part_id for r in sim.results()] == [1, 2, 3, 4]


def test_fault_plan_spreads_faults_over_frames_not_time() -> None:
    progress, fired = Counter(), Counter()
    plan = FaultPlan("camera", 3, 0.0, fired.inc, total_frames=400, progress=progress)
    plan.start()
    try:
        for frames, expected in ((99, 0), (100, 1), (250, 2), (400, 3)):  # due at 100, 200, 300
            progress.value = frames
            assert wait_until(lambda e=expected: fired.value >= e, timeout=10)  # type: ignore[misc]
            assert fired.value == expected
    finally:
        plan.stop()
    assert plan.fired == 3 and plan.errors == []


class StillCamera:
    ended = False

    def open(self) -> None:
        pass

    def read(self) -> tuple[bool, np.ndarray | None]:
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        pass


def test_faulty_camera_counts_frames_since_its_last_fault() -> None:
    camera = FaultyCamera(StillCamera(), failed_reads=2, refused_opens=0)
    camera.read()
    camera.fault()
    assert camera.frames_since_fault == 0
    assert [camera.read()[0] for _ in range(4)] == [False, False, True, True]
    assert camera.frames_since_fault == 2
