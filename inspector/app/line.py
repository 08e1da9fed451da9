"""A built line: everything one run starts and stops, in start order, and how to stop it.

``inspector.app.compose.build_line`` builds it; ``inspector.app.app.App`` starts and stops it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from inspector.app.capture import SeqCounter
from inspector.app.delivery import DeliveryStage, RescueLane
from inspector.app.interfaces import InferenceEngine, VerdictMaker
from inspector.app.outputs import CameraLostStatus, Outputs
from inspector.app.queues import StageQueue
from inspector.app.recipes import RecipeSwitch
from inspector.app.stage_thread import Item, Stage, StageStatus
from inspector.app.stats import StatsCollector
from inspector.app.stats_reporter import StatsReporter
from inspector.app.watch import LineWatch
from inspector.archive.writer import ArchiveWriter
from inspector.config.settings import InspectorConfig
from inspector.sources import SourceReader, SourceStats

ABORT_GRACE_S = 1.0  # after a second signal, how long stages get to notice the hard stop


class LineControl:
    """The stop switches every part of a line shares, and why it stops. Signal handler safe:
    the requests only set events and fields."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # hard stop: drain deadline passed or abort
        self.intake_stop = threading.Event()  # no new frames or triggers
        self.shutdown_requested = threading.Event()
        self.shutdown_reason = "stop"
        self.aborted = False
        self.abort_deadline: float | None = None
        self.exit_code: int | None = None  # set by a watchdog-requested restart

    def request_shutdown(self, reason: str) -> None:
        """Ask for a graceful stop."""
        if not self.shutdown_requested.is_set():
            self.shutdown_reason = reason
            self.shutdown_requested.set()

    def request_restart(self, exit_code: int, message: str) -> None:
        """A watchdog asks for a restart: drain like a SIGTERM, then exit ``exit_code`` (systemd restarts)."""
        if self.exit_code is None:
            self.exit_code = exit_code
        self.request_shutdown(f"watchdog restart: {message}")

    def abort(self) -> None:
        """Leave now (second signal): hard stop every stage; the stop reports unclean."""
        self.aborted = True
        self.abort_deadline = time.monotonic() + ABORT_GRACE_S
        self.intake_stop.set()
        self.stop.set()
        self.request_shutdown("abort")


@dataclass(frozen=True, eq=False)
class Line:
    """One run's parts. ``stages`` in start order: delivery first, capture (and triggers) last."""

    config: InspectorConfig
    control: LineControl
    engine: InferenceEngine
    rules: VerdictMaker
    queues: dict[str, StageQueue[Item]]
    seq: SeqCounter  # the line's frame counter (fail-safe messages take one too)
    lane: RescueLane
    delivery: DeliveryStage
    stages: tuple[Stage, ...]
    readers: tuple[SourceReader, ...]
    outputs: Outputs
    archive: ArchiveWriter | None  # also among ``outputs.records`` when enabled
    camera_status: CameraLostStatus
    stats: StatsCollector
    reporter: StatsReporter
    watch: LineWatch
    recipes: RecipeSwitch  # the line's RecipeControl: hand it to an output that selects recipes

    @property
    def capture_mode(self) -> str:
        """'free_run' or 'triggered' (one frame per PLC trigger), as the plc section says."""
        return str(self.config.plc.mode.value)

    def stage_names(self) -> list[str]:
        return [s.stage_name for s in self.stages]

    def stage_status(self) -> list[StageStatus]:
        return [s.status() for s in self.stages]

    def queue_depths(self) -> dict[str, int]:
        return {name: q.depth() for name, q in self.queues.items()}

    def queue_drops(self) -> dict[str, int]:
        return {name: q.dropped for name, q in self.queues.items()}

    def source_stats(self) -> list[SourceStats]:
        return [r.stats() for r in self.readers]
