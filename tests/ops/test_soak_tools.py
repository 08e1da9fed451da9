"""The soak script's own logic, without running a line: its verdict on a report, and fault plans
spread over frames (the soak itself is a script run by .ci/run, not part of the test run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.ops.ops_helpers import Counter, wait_until

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
failures = soak_module("judge").failures

REQUESTED = {"plc_outages": 20, "camera_faults": 20}


def passing_report() -> dict[str, Any]:
    return {
        "ended": "duration",
        "captured": 1000,
        "verdicts_lost": 0,
        "plc_verdicts_lost": 0,
        "plc": {"submitted": 1000, "delivered": 1000, "dropped": 0, "pending": 0},
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
