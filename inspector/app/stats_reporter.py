"""The periodic 'stats' event."""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from inspector.logging import get_logger

if TYPE_CHECKING:
    from inspector.app.app import App

log = get_logger("inspector.app")


class StatsReporter(threading.Thread):
    """Emits 'stats' every ``interval_s`` and a final one at stop."""

    def __init__(self, app: App, interval_s: float) -> None:
        super().__init__(name="inspector-stats", daemon=True)
        self.app = app
        self.interval_s = interval_s
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
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
            **self._output_stats(),
        }

    def _output_stats(self) -> dict[str, Any]:
        """The output's own counters (the PLC link's), when it has them."""
        stats = getattr(self.app.components.output, "stats", None) if self.app.components else None
        if stats is None:
            return {}
        try:
            snapshot = stats()
        except Exception as exc:
            return {"plc": {"error": str(exc)}}
        if dataclasses.is_dataclass(snapshot) and not isinstance(snapshot, type):
            return {"plc": dataclasses.asdict(snapshot)}
        return {"plc": snapshot}
