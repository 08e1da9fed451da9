"""Stage liveness and queue high-water marks.

A stage is stalled when its progress counter has not moved for ``stall_after_s``
while work waits in its input queue: that is a hung stage (a stuck driver call,
a deadlock), not an idle line. A stalled stage makes the line failing, which
stops the systemd watchdog pulses and the PLC heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthState
from inspector.logging import get_logger
from inspector.watchdog.config import WatchdogConfig

log = get_logger("watchdog.liveness")


@dataclass(frozen=True)
class StageView:
    """What the App exposes per stage: a progress counter, its input queue depth and capacity."""

    name: str
    processed: Callable[[], int]
    queued: Callable[[], int]
    capacity: int = 0  # 0 = unbounded / unknown: no high-water check
    alive: Callable[[], bool] | None = None  # a thread that died while the line runs is failing


@dataclass
class _StageTrack:
    last_processed: int
    last_change: float
    high_water: int = 0
    stalled: bool = False
    backlog: bool = False
    depth: int = 0


@dataclass
class LivenessWatchdog:
    """Checks every stage on ``check()``; one aggregate component ``stages``."""

    config: WatchdogConfig
    stages: Sequence[StageView]
    clock: Callable[[], float] = time.monotonic
    name: str = "stages"
    _tracks: dict[str, _StageTrack] = field(default_factory=dict)
    _health: ComponentHealth = field(init=False)

    def __post_init__(self) -> None:
        self._health = ComponentHealth(self.name, HealthState.OK, "not checked yet")

    def check(self) -> ComponentHealth:
        now = self.clock()
        problems: list[tuple[HealthState, str]] = []
        for stage in self.stages:
            problem = self._check_stage(stage, now)
            if problem is not None:
                problems.append(problem)
        if not problems:
            self._health = ComponentHealth(
                self.name, HealthState.OK, f"{len(self.stages)} stages progressing"
            )
        else:
            state = max(p[0] for p in problems)
            self._health = ComponentHealth(self.name, state, "; ".join(p[1] for p in problems))
        return self._health

    def _check_stage(self, stage: StageView, now: float) -> tuple[HealthState, str] | None:
        if stage.alive is not None and not stage.alive():
            return HealthState.FAILING, f"{stage.name} stopped"
        processed, depth = stage.processed(), stage.queued()
        track = self._tracks.get(stage.name)
        if track is None:
            track = self._tracks[stage.name] = _StageTrack(processed, now)
        if processed != track.last_processed or depth == 0:
            track.last_processed, track.last_change = processed, now
        track.depth = depth
        track.high_water = max(track.high_water, depth)
        idle_s = now - track.last_change
        stalled = depth > 0 and idle_s >= self.config.stall_after_s
        if stalled != track.stalled:
            event = "stage_stalled" if stalled else "stage_recovered"
            (log.error if stalled else log.info)(
                event, stage=stage.name, queued=depth, idle_s=round(idle_s, 1)
            )
            track.stalled = stalled
        if stalled:
            return HealthState.FAILING, f"{stage.name} stalled {idle_s:.0f} s with {depth} queued"
        return self._check_backlog(stage, track, depth)

    def _check_backlog(
        self, stage: StageView, track: _StageTrack, depth: int
    ) -> tuple[HealthState, str] | None:
        if stage.capacity <= 0:
            return None
        high = depth >= self.config.queue_high_water * stage.capacity
        if high and not track.backlog:
            log.warning("queue_high_water", stage=stage.name, depth=depth, capacity=stage.capacity)
        track.backlog = high
        if high:
            return HealthState.DEGRADED, f"{stage.name} queue {depth}/{stage.capacity}"
        return None

    def health(self) -> ComponentHealth:
        return self._health

    def high_water(self) -> dict[str, int]:
        return {name: t.high_water for name, t in self._tracks.items()}

    def metrics(self) -> list[Metric]:
        # Depth is read live: a scrape before the first check (or between checks) must not show
        # stale or missing queues.
        depth, high, stalled = [], [], []
        for stage in self.stages:
            labels, now_depth = (("stage", stage.name),), stage.queued()
            track = self._tracks.get(stage.name)
            depth.append((labels, float(now_depth)))
            high.append((labels, float(max(now_depth, track.high_water if track else 0))))
            stalled.append((labels, float(track.stalled if track else False)))
        return [
            Metric("inspector_queue_depth", "gauge", "Items waiting in a stage's input queue.", tuple(depth)),
            Metric("inspector_queue_high_water", "gauge", "Highest queue depth seen.", tuple(high)),
            Metric("inspector_stage_stalled", "gauge", "1 while a stage is stalled.", tuple(stalled)),
        ]
