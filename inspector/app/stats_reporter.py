"""The periodic 'stats' event, and camera-lost status pushed to the output as it changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from inspector.logging import get_logger
from inspector.sources import SourceState

if TYPE_CHECKING:
    from inspector.app.app import App

log = get_logger("inspector.app")
STATUS_TICK_S = 0.25


class StatsReporter(threading.Thread):
    """Emits 'stats' every ``interval_s``; checks camera state every tick."""

    def __init__(self, app: App, interval_s: float) -> None:
        super().__init__(name="inspector-stats", daemon=True)
        self.app = app
        self.interval_s = interval_s
        self._halt = threading.Event()
        self._camera_lost: bool | None = None

    def run(self) -> None:
        next_report = self.interval_s
        waited = 0.0
        tick = min(STATUS_TICK_S, self.interval_s)
        while not self._halt.wait(tick):
            waited += tick
            self._push_camera_status()
            if waited >= next_report:
                next_report += self.interval_s
                log.info("stats", **self.fields())

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2.0)
        log.info("stats", final=True, **self.fields())

    def fields(self) -> dict[str, Any]:
        app = self.app
        period = app.stats.take_period()
        sources = {
            s.source_id: {
                "state": s.state.value,
                "frames": s.frames,
                "read_failures": s.read_failures,
                "reconnects": s.reconnects,
                "reconnect_attempts": s.reconnect_attempts,
            }
            for s in app.source_stats()
        }
        return {
            **period,
            "queue_depths": app.queue_depths(),
            "drops": app.queue_drops(),
            "reconnects": sum(s["reconnects"] for s in sources.values()),
            "sources": sources,
            "stage_errors": {s.name: s.errors for s in app.stage_status() if s.errors},
            "rescued": app.output_stage.rescued if app.output_stage is not None else 0,
        }

    def _push_camera_status(self) -> None:
        lost = any(s.state is SourceState.LOST for s in self.app.source_stats())
        if lost != self._camera_lost and self.app.components is not None:
            self._camera_lost = lost
            try:
                self.app.components.output.set_status(camera_lost=lost)
            except Exception as exc:
                log.warning("output_status_failed", error=str(exc))
