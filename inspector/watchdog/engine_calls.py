"""The engine as health sees it: each inference call's outcome, and the engine component.

An engine that errors now and then (a bad frame) is degraded: those parts are failed safe and
the line goes on. One that fails call after call is unusable, not unlucky: health turns
failing, which raises the PLC status word's fault bit, stops the PLC heartbeat and the
``WATCHDOG=1`` pulses (systemd restarts the daemon). Counting "in a row" needs the order of
successes and failures, which the stage's separate ``errors`` / ``batches`` counters cannot
give without a race, so the OOM guard (the one wrapper every inference call goes through)
keeps the count on the inference thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from inspector.health.state import ComponentHealth, HealthState
from inspector.watchdog.oom import OomGuard

# Engine calls failing in a row before the engine counts as failing. Low enough that a broken
# engine (every part failed safe) is reported within a few frames; high enough that a short run
# of bad frames, each failed safe with code 903, stays "degraded".
ENGINE_FAILING_AFTER = 5

F = TypeVar("F")
T = TypeVar("T")


class EngineCallGuard(OomGuard):
    """The OOM guard, also counting engine calls that failed: ``failed_in_a_row`` (0 after a call
    that gave results) and ``failed_calls``. Written on the inference thread only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed_in_a_row = 0
        self.failed_calls = 0

    def infer(
        self,
        infer: Callable[[Sequence[F]], Sequence[T]],
        frames: Sequence[F],
        reduce_imgsz: Callable[[], bool] | None = None,
    ) -> list[T | None]:
        try:
            out = super().infer(infer, frames, reduce_imgsz)
        except Exception:
            self._count_failure()
            raise
        if len(out) != len(frames):
            self._count_failure()  # the inference stage fails such a batch safe as an engine error
        elif any(result is not None for result in out):
            self.failed_in_a_row = 0
        # all None: every frame hit CUDA OOM; that has its own policy and component (engine.memory)
        return out

    def _count_failure(self) -> None:
        self.failed_in_a_row += 1
        self.failed_calls += 1


def engine_probe(
    errors: Callable[[], int], device: object, calls: EngineCallGuard | None
) -> Callable[[], ComponentHealth]:
    """Failing after ENGINE_FAILING_AFTER engine calls failed in a row (until one gives results);
    degraded when the inference stage counted new ``errors`` since the last look; else ok.
    ``device``: where the engine runs, for the detail text."""
    seen = [0]

    def probe() -> ComponentHealth:
        count = int(errors())
        fresh, seen[0] = count > seen[0], count
        in_a_row = calls.failed_in_a_row if calls is not None else 0
        if in_a_row >= ENGINE_FAILING_AFTER:
            why = f"the last {in_a_row} inference calls failed ({count} errors total) on {device}"
            return ComponentHealth("engine", HealthState.FAILING, why)
        if fresh:
            return ComponentHealth(
                "engine", HealthState.DEGRADED, f"inference errors ({count} total) on {device}"
            )
        return ComponentHealth("engine", HealthState.OK, f"{device}")

    return probe
