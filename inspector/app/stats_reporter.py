"""The periodic 'stats' event."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inspector.app.delivery import RescueLane
from inspector.app.outputs import Outputs
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item, Stage
from inspector.app.stats import StatsCollector
from inspector.logging import get_logger
from inspector.sources import SourceReader

log = get_logger("inspector.app")


@dataclasses.dataclass(frozen=True)
class LineFigures:
    """What the 'stats' event reads off the line (the same objects the line runs with)."""

    stats: StatsCollector
    queues: Mapping[str, StageQueue[Item]]
    stages: Sequence[Stage]
    readers: Sequence[SourceReader]
    lane: RescueLane
    outputs: Outputs
    refine: Callable[[], dict[str, int]] | None = None  # SAM refinement's counters (engine.refine)


class StatsReporter(threading.Thread):
    """Emits 'stats' every ``interval_s`` and a final one at stop."""

    def __init__(self, figures: LineFigures, interval_s: float) -> None:
        super().__init__(name="inspector-stats", daemon=True)
        self.figures = figures
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
        line = self.figures
        period = line.stats.take_period()
        sources = {
            s.source_id: {
                "state": s.state.value,
                "frames": s.frames,
                "read_failures": s.read_failures,
                "reconnects": s.reconnects,
                "reconnect_attempts": s.reconnect_attempts,
                **s.device,
            }
            for s in (r.stats() for r in line.readers)
        }
        return {
            **period,
            "queue_depths": {name: q.depth() for name, q in line.queues.items()},
            "drops": {name: q.dropped for name, q in line.queues.items()},
            "reconnects": sum(s["reconnects"] for s in sources.values()),
            "sources": sources,
            "stage_errors": {s.stage_name: s.errors for s in line.stages if s.errors},
            "rescued": line.lane.rescued,
            **({"refine": line.refine()} if line.refine is not None else {}),
            **self._link_stats(),
        }

    def _link_stats(self) -> dict[str, Any]:
        """The PLC link's own counters, when the line has one."""
        try:
            snapshot = self.figures.outputs.link_stats()
        except Exception as exc:
            return {"plc": {"error": str(exc)}}
        return {} if snapshot is None else {"plc": dataclasses.asdict(snapshot)}
