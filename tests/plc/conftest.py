"""Fixtures for the PLC tests: a simulator on a free loopback port and started outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from inspector.plc import PlcConfig, PlcOutput
from inspector.plc.simulator import PlcSimulator

IMAGE = np.zeros((4, 4, 3), np.uint8)


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
