"""Fixtures for the PLC tests: a simulator on a free loopback port and quick configs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from inspector.messages import FrameMsg, Reason, Verdict, VerdictCode
from inspector.plc import PlcConfig, PlcOutput
from inspector.plc.sim import PlcSimulator

IMAGE = np.zeros((4, 4, 3), np.uint8)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.005) -> Any:
    """Poll ``predicate`` until truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(step)


def quick_config(port: int, **overrides: Any) -> PlcConfig:
    """Client config with short timeouts so fault tests stay fast.

    The pulse window is wide unless a test sets ``pulses.late_ms``: these tests count pulses, and
    a loaded machine must not turn an on-time part into a late one (tests of 'late' set their own).
    """
    base: dict[str, Any] = {
        "role": "client",
        "port": port,
        "timeout_ms": 50,
        "retries": 0,
        "reconnect_min_ms": 20,
        "reconnect_max_ms": 200,
    }
    pulses = {"late_ms": 5000, **overrides.pop("pulses", {})}
    base.update(overrides)
    return PlcConfig(**base, pulses=pulses)


def verdict(code: VerdictCode, rule_code: int = 0, measurements: tuple[float, ...] = ()) -> Verdict:
    reasons = (Reason(rule="test", code=rule_code),) if rule_code else ()
    return Verdict(code=code, reasons=reasons, measurements=measurements)


def frame(part_id: int, v: Verdict | None, t_capture: float | None = None, seq: int = 0) -> FrameMsg:
    return FrameMsg(
        seq=seq or part_id,
        source_id="cam0",
        t_capture=time.monotonic() if t_capture is None else t_capture,
        image=IMAGE,
        part_id=part_id,
        verdict=v,
    )


@pytest.fixture
def sim() -> Iterator[PlcSimulator]:
    simulator = PlcSimulator()
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def make_output() -> Iterator[Callable[[PlcConfig], PlcOutput]]:
    outputs: list[PlcOutput] = []

    def make(config: PlcConfig) -> PlcOutput:
        output = PlcOutput(config)
        output.start()
        outputs.append(output)
        return output

    yield make
    for output in outputs:
        output.stop(timeout=1.0)  # unacked results are flushed until then, then logged
