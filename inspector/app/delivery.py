"""The last stage: each part's verdict to the outputs, one 'inspection' event, the stats.

Fail-safe messages from anywhere in the line come on the rescue lane and go first.
"""

from __future__ import annotations

import collections
import threading
import time

from inspector.app.interfaces import FailSafeJudgeFn
from inspector.app.outputs import Outputs
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item, Stage, StageContext, failsafe_copy, judged, log, ms_since
from inspector.app.stats import StatsCollector, inspection_fields
from inspector.messages import FailSafeCause, FrameMsg


class RescueLane:
    """Fail-safe messages on their way to the delivery stage, past every queue; thread-safe,
    never blocks, never drops."""

    def __init__(self) -> None:
        self._items: collections.deque[tuple[FrameMsg, bool]] = collections.deque()
        self._lock = threading.Lock()
        self.rescued = 0

    def rescue(self, msg: FrameMsg, counted: bool = False) -> None:
        """Queue ``msg``; ``counted``: the history rules have already counted this part (it
        passed the rules stage)."""
        with self._lock:
            self._items.append((msg, counted))
            self.rescued += 1

    def dropped(self, item: Item, counted: bool = False) -> None:
        """A frame dropped by a full queue is a part all the same: it is delivered failed safe."""
        if isinstance(item, FrameMsg):
            self.rescue(
                failsafe_copy(item, FailSafeCause.FRAME_DROPPED, "frame dropped (queue full)"), counted
            )

    def dropped_counted(self, item: Item) -> None:
        """``dropped`` after the rules stage, whose history rules have counted the part already."""
        self.dropped(item, counted=True)

    def take(self) -> tuple[FrameMsg, bool] | None:
        with self._lock:
            return self._items.popleft() if self._items else None


class DeliveryStage(Stage):
    """Hands verdicts to the outputs, logs one 'inspection' event per frame, feeds the stats.

    Rescued fail-safe messages the rules stage has not seen are counted in the history rules
    first (``judge_failsafe``).
    """

    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        lane: RescueLane,
        outputs: Outputs,
        stats: StatsCollector,
        log_inspections: bool,
        judge_failsafe: FailSafeJudgeFn | None = None,
    ) -> None:
        super().__init__("output", ctx, inbox, None)
        self.lane = lane
        self.outputs = outputs
        self.stats = stats
        self.log_inspections = log_inspections
        self.judge_failsafe = judge_failsafe
        self.delivered = 0

    def next_item(self, timeout: float) -> Item | None:
        self.deliver_rescued()
        return super().next_item(timeout)

    def finish(self) -> None:
        self.deliver_rescued()

    def deliver_rescued(self) -> None:
        while (taken := self.lane.take()) is not None:
            msg, counted = taken
            self.process(msg if counted else judged(msg, self.judge_failsafe))

    def process(self, msg: FrameMsg) -> None:
        if msg.verdict is None:  # never silence: a frame without verdict is failed safe here
            failed = failsafe_copy(msg, FailSafeCause.RULES_ERROR, "reached output without verdict")
            msg = judged(failed, self.judge_failsafe)
        t0 = time.perf_counter()
        self.errors += self.outputs.hand_over(msg)
        msg = msg.with_timing("output", ms_since(t0))
        self.outputs.record(msg)
        e2e_ms = (time.monotonic() - msg.t_capture) * 1000.0
        self.stats.record(msg, e2e_ms)
        if self.log_inspections:
            log.info("inspection", **inspection_fields(msg, e2e_ms))
        self.delivered += 1
