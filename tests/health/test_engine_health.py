"""The engine component of health: isolated inference errors degrade it, errors on call after call
make it failing (the PLC status word's fault bit rises, WATCHDOG=1 stops), a success recovers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from inspector.health.state import ComponentHealth, HealthSnapshot, HealthState
from inspector.messages import Detections, FailSafeCause
from inspector.watchdog.config import OomConfig
from inspector.watchdog.engine_calls import ENGINE_FAILING_AFTER, EngineCallGuard
from inspector.watchdog.restart import RestartRequest
from tests.support import wait_until
from tests.support.parts import BlobEngine, RecordingOutput
from tests.support.parts import supervised_line as line


class BrokenEngine(BlobEngine):
    """Raises on each call while ``broken`` is set; ``fail_next`` breaks that many calls only."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = threading.Event()
        self.fail_next = 0

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise RuntimeError("engine exploded (once)")
        if self.broken.is_set():
            raise RuntimeError("engine exploded")
        return super().infer(frames)


def guard() -> EngineCallGuard:
    return EngineCallGuard(OomConfig(), RestartRequest(), 4, free_cache=lambda: None)


def test_guard_counts_engine_calls_failing_in_a_row() -> None:
    calls = guard()

    def boom(frames: Sequence[int]) -> list[int]:
        raise ValueError("bad frame")

    for n in (1, 2, 3):
        with pytest.raises(ValueError, match="bad frame"):
            calls.infer(boom, [1])
        assert calls.failed_in_a_row == n
    assert calls.infer(lambda frames: [f * 2 for f in frames], [1, 2]) == [2, 4]
    assert (calls.failed_in_a_row, calls.failed_calls) == (0, 3)
    assert calls.infer(lambda frames: [0], [1, 2]) == [0]  # one result for two frames: failed too
    assert (calls.failed_in_a_row, calls.failed_calls) == (1, 4)


def engine_states(snaps: list[HealthSnapshot]) -> list[ComponentHealth]:
    return [c for s in list(snaps) for c in s.components if c.name == "engine"]


@contextmanager
def running_line(
    tmp_path: Path, engine: BrokenEngine
) -> Iterator[tuple[RecordingOutput, list[HealthSnapshot]]]:
    """A started line with health snapshots recorded, once its first parts are through; stopped after."""
    app, out = line(tmp_path, engine)
    snaps: list[HealthSnapshot] = []
    app.start()
    try:
        assert app.line.watch is not None
        app.line.watch.add_listener(snaps.append)
        assert wait_until(lambda: len(out.messages) >= 3, timeout=20)
        yield out, snaps
    finally:
        engine.broken.clear()
        app.request_shutdown("test over")
        assert app.run_until_stopped()


def test_engine_failing_on_every_call_is_failing_and_raises_the_fault_bit(tmp_path: Path) -> None:
    engine = BrokenEngine()
    with running_line(tmp_path, engine) as (out, snaps):
        engine.broken.set()
        assert wait_until(lambda: out.status.get("fault") is True, timeout=20)
        failing = next(c for c in engine_states(snaps) if c.state is HealthState.FAILING)
        assert "inference calls failed" in failing.detail
        assert int(failing.detail.split()[2]) >= ENGINE_FAILING_AFTER
        assert out.healthy is False  # the PLC heartbeat stops with the systemd watchdog
        engine.broken.clear()  # the engine works again: ok, the bit drops
        assert wait_until(lambda: out.status.get("fault") is False, timeout=20)
        assert wait_until(lambda: engine_states(snaps)[-1].state is HealthState.OK, timeout=20)
    failed = [m for m in out.messages if m.verdict and m.verdict.first_code == FailSafeCause.ENGINE_ERROR]
    assert len(failed) >= ENGINE_FAILING_AFTER  # each part of a failed call was failed safe (903)


def test_isolated_engine_errors_only_degrade(tmp_path: Path) -> None:
    engine = BrokenEngine()
    with running_line(tmp_path, engine) as (out, snaps):
        engine.fail_next = ENGINE_FAILING_AFTER - 1  # one short of failing, then it works again
        assert wait_until(lambda: any(c.state is HealthState.DEGRADED for c in engine_states(snaps)), 20)
        n = len(snaps)
        assert wait_until(lambda: any(c.state is HealthState.OK for c in engine_states(snaps[n:])), 20)
    assert all(c.state is not HealthState.FAILING for c in engine_states(snaps))
    assert out.status.get("fault") is not True
