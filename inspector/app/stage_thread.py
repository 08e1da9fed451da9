"""The stage thread every pipeline stage is: loop on the input queue with a timeout, stop on a
shared Event, push an end marker downstream in ``finally``; and the fail-safe helpers they share."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.app.queues import Empty, Full, StageQueue
from inspector.logging import get_logger
from inspector.messages import EndOfStream, FailSafeCause, FrameMsg, Verdict, failsafe_verdict

log = get_logger("inspector.app")

Item = Any  # FrameMsg | EndOfStream on frame queues, triggers on trigger queues


@dataclass(frozen=True)
class StageContext:
    """What every stage shares: the hard stop, the poll timeout, and the rescue lane to delivery."""

    stop: threading.Event  # set when the drain deadline passed (or on abort): leave now
    poll_s: float
    rescue: Callable[[FrameMsg], None]  # a fail-safe message straight to the delivery stage


@dataclass(frozen=True, slots=True)
class StageStatus:
    """A stage's liveness, for stats and the health/watchdog side."""

    name: str
    alive: bool
    processed: int
    errors: int
    last_progress: float  # monotonic time of the last item handled (start time before any)
    busy: bool  # inside process() right now
    inbox_depth: int


def failsafe_copy(msg: FrameMsg, cause: FailSafeCause, message: str) -> FrameMsg:
    """``msg`` with a fail-safe verdict (rejected, never passed), no detections and nothing pending."""
    return dataclasses.replace(msg, detections=None, pending=None, verdict=failsafe_verdict(cause, message))


def judged(msg: FrameMsg, judge: Callable[[Verdict, str], Verdict] | None) -> FrameMsg:
    """``msg`` (failed safe) after the history rules counted it; they may raise it to ALARM.
    A judge that fails leaves the fail-safe verdict as it is: still rejected, never passed."""
    if judge is None or msg.verdict is None:
        return msg
    try:
        verdict = judge(msg.verdict, msg.source_id)
    except Exception as exc:
        log.error("failsafe_history_failed", seq=msg.seq, source=msg.source_id, error=str(exc))
        return msg
    return msg if verdict is msg.verdict else dataclasses.replace(msg, verdict=verdict)


def ms_since(t0: float) -> float:
    """Milliseconds since ``t0`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - t0) * 1000.0


class Stage(threading.Thread):
    """Base of the pipeline stages; subclasses implement ``process`` (and may override ``loop``)."""

    def __init__(
        self,
        name: str,
        ctx: StageContext,
        inbox: StageQueue[Item] | None,
        outbox: StageQueue[Item] | None,
        upstreams: int = 1,
    ) -> None:
        super().__init__(name=f"inspector-{name}", daemon=True)
        self.stage_name = name
        self.ctx = ctx
        self.inbox = inbox
        self.outbox = outbox
        self.upstreams = upstreams
        self.processed = 0
        self.errors = 0
        self.last_progress = time.monotonic()
        self.busy = False
        self.crashed: BaseException | None = None
        self._ends_seen = 0

    def status(self) -> StageStatus:
        depth = self.inbox.depth() if self.inbox is not None else 0
        return StageStatus(
            self.stage_name,
            self.is_alive(),
            self.processed,
            self.errors,
            self.last_progress,
            self.busy,
            depth,
        )

    def run(self) -> None:
        try:
            self.loop()
        except Exception as exc:  # a bug, not a bad frame: report it; the end marker still goes out
            self.crashed = exc
            log.exception("stage_crashed", stage=self.stage_name)
        finally:
            try:
                self.finish()
            finally:
                if self.outbox is not None:
                    self.outbox.put(EndOfStream(self.stage_name), control=True)
                log.debug("stage_stopped", stage=self.stage_name, processed=self.processed)

    def loop(self) -> None:
        while not self.ctx.stop.is_set():
            item = self.next_item(self.ctx.poll_s)
            if item is None:
                continue
            if isinstance(item, EndOfStream):
                if self.end_seen():
                    return
                continue
            if self.work(item):
                return

    def work(self, item: Item) -> bool:
        """Process one item; True when every upstream ended meanwhile (a batching stage reads on)."""
        self.busy = True
        try:
            self.process(item)
        finally:
            self.progressed(1)
        return False

    def progressed(self, items: int) -> None:
        self.busy = False
        self.processed += items
        self.last_progress = time.monotonic()

    def next_item(self, timeout: float) -> Item | None:
        assert self.inbox is not None, "a stage without inbox must override loop()"
        try:
            return self.inbox.get(timeout=timeout)
        except Empty:
            return None

    def end_seen(self) -> bool:
        """Count one upstream end marker; True once every upstream has ended."""
        self._ends_seen += 1
        return self._ends_seen >= self.upstreams

    def process(self, item: Item) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called once when the loop ends, before the end marker goes downstream."""

    def emit(self, msg: FrameMsg) -> bool:
        """Pass ``msg`` downstream, waiting on a BLOCK queue until there is room or the hard stop.

        A frame that cannot be passed on before the hard stop is failed safe (every frame is a part).
        """
        assert self.outbox is not None
        while True:
            try:
                self.outbox.put(msg, timeout=self.ctx.poll_s)
                return True
            except Full:
                if self.ctx.stop.is_set():
                    self.ctx.rescue(failsafe_copy(msg, FailSafeCause.SHUTDOWN, "stopped before inspection"))
                    return False
