"""The line's outputs behind one fan-out: every part's verdict goes to each of them.

Verdict outputs (the PLC; OPC UA when enabled) get each part first, in order; record
outputs (the reject archive) get it after, with the hand-over timed. Each output is called on
its own: one that fails is logged and counted, and never keeps a verdict from the others.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from inspector.app.interfaces import LinkOutput, Output, PartTracker, StatusOutput, TriggerSource
from inspector.logging import get_logger
from inspector.messages import FrameMsg, VerdictCode
from inspector.plc import PlcStats
from inspector.sources import SourceState

log = get_logger("inspector.app")


class Outputs:
    """Verdict outputs, then record outputs; started records first, stopped in reverse order."""

    def __init__(self, verdicts: Sequence[Output], records: Sequence[Output] = ()) -> None:
        self.verdicts = tuple(verdicts)
        self.records = tuple(records)
        self._started: list[Output] = []

    def start_records(self) -> None:
        """Before the cameras open (as the archive always did): a bad archive dir stops the start."""
        for output in self.records:
            output.start()
            self._started.append(output)

    def start_verdicts(self) -> None:
        for output in self.verdicts:
            output.start()
            self._started.append(output)

    @property
    def started(self) -> bool:
        return any(output in self._started for output in self.verdicts)

    def stop(self, timeout: float) -> None:
        """Offline and unhealthy first (the PLC sees the stop), then each started output, newest first."""
        if self.started:
            self.set_healthy(False)
            self.set_status(online=False)
        while self._started:
            self._started.pop().stop(timeout)

    def hand_over(self, msg: FrameMsg) -> int:
        """``msg`` to every verdict output; the number that failed (each logged)."""
        failed = 0
        for output in self.verdicts:
            try:
                output.submit(msg)
            except Exception as exc:
                failed += 1
                log.error("output_submit_failed", seq=msg.seq, part_id=msg.part_id, error=str(exc))
        return failed

    def record(self, msg: FrameMsg) -> None:
        """``msg`` to every record output; one that fails (a full disk) never costs a verdict."""
        for output in self.records:
            try:
                output.submit(msg)
            except Exception as exc:
                log.error("output_sink_failed", seq=msg.seq, error=str(exc))

    def set_status(self, **flags: bool) -> None:
        for output in self._status_outputs():
            try:
                output.set_status(**flags)
            except Exception as exc:
                log.warning("output_status_failed", error=str(exc))

    def set_healthy(self, healthy: bool) -> None:
        for output in self._status_outputs():
            try:
                output.set_healthy(healthy)
            except Exception as exc:
                log.warning("output_status_failed", error=str(exc))

    def _status_outputs(self) -> list[StatusOutput]:
        return [output for output in self.verdicts if isinstance(output, StatusOutput)]

    def trigger_source(self) -> TriggerSource | None:
        """The verdict output that hands out PLC triggers (triggered mode), if any."""
        return next((o for o in self.verdicts if isinstance(o, TriggerSource)), None)

    def part_trackers(self) -> list[PartTracker]:
        """The verdict outputs that track free-run parts from their capture."""
        return [o for o in self.verdicts if isinstance(o, PartTracker)]

    def link(self) -> LinkOutput | None:
        """The verdict output over a link with counters (the PLC), if any."""
        return next((o for o in self.verdicts if isinstance(o, LinkOutput)), None)

    def link_stats(self) -> PlcStats | None:
        link = self.link()
        return link.stats() if link is not None else None


class CountingOutput:
    """A verdict output that only counts: verdicts are already in the 'inspection' log events.

    For runs without a PLC link object (benchmarks).
    """

    def __init__(self) -> None:
        self.submitted = 0
        self.by_code: dict[str, int] = {}

    def start(self) -> None:
        log.info("output_log_only", note="verdicts are logged, no PLC is written")

    def stop(self, timeout: float) -> None:
        pass

    def submit(self, msg: FrameMsg) -> None:
        self.submitted += 1
        code = msg.verdict.code if msg.verdict is not None else VerdictCode.NONE
        self.by_code[code.name] = self.by_code.get(code.name, 0) + 1


class CameraLostStatus:
    """Pushes camera-lost to the outputs (the PLC status word) as soon as any source is lost or
    back; quiet until ``reporting()`` (the outputs started). Thread-safe: capture threads call it."""

    def __init__(self, outputs: Outputs) -> None:
        self._outputs = outputs
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._reported: bool | None = None  # None: not reporting yet

    def lost(self) -> bool:
        with self._lock:
            return bool(self._lost)

    def reporting(self) -> bool:
        """From now on changes are pushed; the camera-lost state now, for the first status."""
        with self._lock:
            self._reported = bool(self._lost)
            return self._reported

    def changed(self, source_id: str, state: SourceState) -> None:
        with self._lock:
            (self._lost.add if state is SourceState.LOST else self._lost.discard)(source_id)
            lost = bool(self._lost)
            if self._reported is None or lost == self._reported:
                return
            self._reported = lost
        self._outputs.set_status(camera_lost=lost)
