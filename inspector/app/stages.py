"""The processing stages: preprocessing, inference (batched), rules, output."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from inspector.app.components import InferenceEngine, Output, VerdictMaker, failsafe_judge
from inspector.app.queues import StageQueue
from inspector.app.stage import Item, Stage, StageContext, failsafe_copy, log
from inspector.app.stats import StatsCollector, inspection_fields
from inspector.messages import Detections, EndOfStream, FailSafeCause, FrameMsg, Verdict, failsafe_verdict
from inspector.preprocess import Chain

if TYPE_CHECKING:
    from inspector.watchdog.oom import OomGuard


FailSafeJudgeFn = Callable[[Verdict, str], Verdict]


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def judged(msg: FrameMsg, judge: FailSafeJudgeFn | None) -> FrameMsg:
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


class PreprocessStage(Stage):
    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        outbox: StageQueue[Item],
        chain: Chain,
        upstreams: int,
    ) -> None:
        super().__init__("preprocess", ctx, inbox, outbox, upstreams)
        self.chain = chain

    def process(self, msg: FrameMsg) -> None:
        if msg.verdict is not None:
            self.emit(msg)
            return
        t0 = time.perf_counter()
        try:
            image = self.chain(msg.image)
        except Exception as exc:  # a frame the chain cannot handle (e.g. ROI outside it)
            self.errors += 1
            log.error("preprocess_failed", seq=msg.seq, source=msg.source_id, error=str(exc))
            self.emit(failsafe_copy(msg, FailSafeCause.ENGINE_ERROR, f"preprocessing failed: {exc}"))
            return
        self.emit(msg.with_timing("preprocess", _ms_since(t0), image=image))


class InferenceStage(Stage):
    """Runs the engine; batches up to ``batch_size`` frames, waiting at most ``max_wait_s`` for more."""

    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        outbox: StageQueue[Item],
        engine: InferenceEngine,
        batch_size: int,
        max_wait_s: float,
    ) -> None:
        super().__init__("infer", ctx, inbox, outbox)
        self.engine = engine
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.batches = 0
        # Set by the supervisor (inspector.health.app_view): CUDA OOM policy and current batch cap.
        self.oom_guard: OomGuard | None = None

    def work(self, item: Item) -> bool:
        batch, ended = self._fill([item])
        self.busy = True
        try:
            self.process_batch(batch)
        finally:
            self.progressed(len(batch))
        return ended

    def _fill(self, batch: list[FrameMsg]) -> tuple[list[FrameMsg], bool]:
        """Add queued frames until the batch is full or the max wait passed; True if all upstreams ended."""
        deadline = time.monotonic() + self.max_wait_s
        limit = min(self.batch_size, self.oom_guard.max_batch) if self.oom_guard else self.batch_size
        while len(batch) < limit:
            left = deadline - time.monotonic()
            item = self.next_item(max(left, 0.0)) if left > 0 or self._queued() else None
            if item is None:
                break
            if isinstance(item, EndOfStream):
                if self.end_seen():
                    return batch, True
                continue
            batch.append(item)
        return batch, False

    def _queued(self) -> bool:
        return self.inbox is not None and self.inbox.depth() > 0

    def process_batch(self, batch: list[FrameMsg]) -> None:
        todo = [m for m in batch if m.verdict is None]
        done: dict[int, FrameMsg] = {}
        if todo:
            t0 = time.perf_counter()
            try:
                results = self._infer([m.image for m in todo])
                if len(results) != len(todo):
                    raise RuntimeError(f"engine returned {len(results)} results for {len(todo)} frames")
            except Exception as exc:
                self.errors += 1
                cause = (
                    FailSafeCause.OUT_OF_MEMORY
                    if "out of memory" in str(exc).lower()
                    else (FailSafeCause.ENGINE_ERROR)
                )
                log.error("inference_failed", frames=len(todo), error=str(exc), cause=cause.name)
                for m in todo:
                    done[id(m)] = failsafe_copy(m, cause, f"inference failed: {exc}")
            else:
                ms = _ms_since(t0)
                for m, det in zip(todo, results, strict=True):
                    done[id(m)] = (
                        m.with_timing("infer", ms, detections=det)
                        if det is not None
                        else failsafe_copy(m, FailSafeCause.OUT_OF_MEMORY, "CUDA out of memory")
                    )
            self.batches += 1
        for m in batch:
            self.emit(done.get(id(m), m))

    def _infer(self, images: list[np.ndarray]) -> Sequence[Detections | None]:
        """The engine call, through the OOM guard when one is set (None: that frame fails safe)."""
        if self.oom_guard is None:
            return self.engine.infer(images)
        return self.oom_guard.infer(self.engine.infer, images)


class RulesStage(Stage):
    def __init__(
        self, ctx: StageContext, inbox: StageQueue[Item], outbox: StageQueue[Item], verdicts: VerdictMaker
    ) -> None:
        super().__init__("rules", ctx, inbox, outbox)
        self.verdicts = verdicts
        self.judge_failsafe = failsafe_judge(verdicts)

    def process(self, msg: FrameMsg) -> None:
        if msg.verdict is not None or msg.detections is None:  # failed safe upstream: history counts it
            failed = (
                msg
                if msg.verdict is not None
                else failsafe_copy(msg, FailSafeCause.ENGINE_ERROR, "no detections")
            )
            self.emit(judged(failed, self.judge_failsafe))
            return
        t0 = time.perf_counter()
        try:
            verdict = self.verdicts.evaluate(msg.detections, msg.source_id)
        except Exception as exc:
            self.errors += 1
            log.error("rules_failed", seq=msg.seq, source=msg.source_id, error=str(exc))
            verdict = failsafe_verdict(FailSafeCause.RULES_ERROR, f"rules failed: {exc}")
        self.emit(msg.with_timing("rules", _ms_since(t0), verdict=verdict))


class OutputStage(Stage):
    """Hands verdicts to the output (PLC), logs one 'inspection' event per frame, feeds the stats.

    Fail-safe messages from anywhere in the line arrive on the rescue lane and go first; those
    the rules stage has not seen are counted in the history rules first (``judge_failsafe``).
    """

    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        output: Output,
        stats: StatsCollector,
        log_inspections: bool,
        on_frame: Callable[[int], None],
        judge_failsafe: FailSafeJudgeFn | None = None,
    ) -> None:
        super().__init__("output", ctx, inbox, None)
        self.output = output
        self.stats = stats
        self.log_inspections = log_inspections
        self._on_frame = on_frame
        self.judge_failsafe = judge_failsafe
        self._rescued: collections.deque[tuple[FrameMsg, bool]] = collections.deque()
        self._rescue_lock = threading.Lock()
        self.rescued = 0
        self.delivered = 0
        # Extra non-blocking consumers of delivered messages (the reject archive).
        self.sinks: list[Callable[[FrameMsg], object]] = []

    def rescue(self, msg: FrameMsg, counted: bool = False) -> None:
        """Queue a fail-safe message; thread-safe, never blocks, never drops. ``counted``: the
        history rules have already counted this part (it passed the rules stage)."""
        with self._rescue_lock:
            self._rescued.append((msg, counted))
            self.rescued += 1

    def next_item(self, timeout: float) -> Item | None:
        self.deliver_rescued()
        return super().next_item(timeout)

    def finish(self) -> None:
        self.deliver_rescued()

    def deliver_rescued(self) -> None:
        while True:
            with self._rescue_lock:
                if not self._rescued:
                    return
                msg, counted = self._rescued.popleft()
            self.process(msg if counted else judged(msg, self.judge_failsafe))

    def process(self, msg: FrameMsg) -> None:
        if msg.verdict is None:  # never silence: a frame without verdict is failed safe here
            failed = failsafe_copy(msg, FailSafeCause.RULES_ERROR, "reached output without verdict")
            msg = judged(failed, self.judge_failsafe)
        t0 = time.perf_counter()
        try:
            self.output.submit(msg)
        except Exception as exc:
            self.errors += 1
            log.error("output_submit_failed", seq=msg.seq, part_id=msg.part_id, error=str(exc))
        msg = msg.with_timing("output", _ms_since(t0))
        for sink in self.sinks:
            try:
                sink(msg)
            except Exception as exc:  # a sink (archive) must never cost a verdict
                log.error("output_sink_failed", seq=msg.seq, error=str(exc))
        e2e_ms = (time.monotonic() - msg.t_capture) * 1000.0
        self.stats.record(msg, e2e_ms)
        if self.log_inspections:
            log.info("inspection", **inspection_fields(msg, e2e_ms))
        self.delivered += 1
        self._on_frame(self.delivered)
