"""The processing stages between capture and delivery: preprocessing, inference (batched), rules."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence

import numpy as np

from inspector.app.interfaces import (
    InferenceEngine,
    ShrinkingEngine,
    TwoStepEngine,
    VerdictMaker,
    failsafe_judge,
)
from inspector.app.queues import StageQueue
from inspector.app.recipes import RecipeSwitch
from inspector.app.stage_thread import Item, Stage, StageContext, failsafe_copy, judged, log, ms_since
from inspector.messages import (
    Detections,
    EndOfStream,
    FailSafeCause,
    FrameMsg,
    PendingDetections,
    failsafe_verdict,
)
from inspector.preprocess import Chain
from inspector.watchdog.engine_calls import EngineCallGuard


class PreprocessStage(Stage):
    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        outbox: StageQueue[Item],
        chain: Chain,
        upstreams: int,
        recipes: RecipeSwitch | None = None,
    ) -> None:
        super().__init__("preprocess", ctx, inbox, outbox, upstreams)
        self.chain = chain
        self.recipes = recipes  # each part's chain is its recipe's (for its camera)

    def process(self, msg: FrameMsg) -> None:
        if msg.verdict is not None:
            self.emit(msg)
            return
        t0 = time.perf_counter()
        try:
            chain = self.recipes.parts_for(msg).chain_for(msg.source_id) if self.recipes else self.chain
            image = chain(msg.image)
        except Exception as exc:  # a frame the chain cannot handle (e.g. ROI outside it)
            self.errors += 1
            log.error("preprocess_failed", seq=msg.seq, source=msg.source_id, error=str(exc))
            self.emit(failsafe_copy(msg, FailSafeCause.ENGINE_ERROR, f"preprocessing failed: {exc}"))
            return
        self.emit(msg.with_timing("preprocess", ms_since(t0), image=image))


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
        guard: EngineCallGuard | None = None,
        recipes: RecipeSwitch | None = None,
        two_step: bool = False,
    ) -> None:
        super().__init__("infer", ctx, inbox, outbox)
        self.engine = engine
        # forward only, post-processing left to the next stage (engines that can: TwoStepEngine)
        self.two_step = two_step
        self.recipes = recipes  # each part runs through its recipe's engine
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.batches = 0
        # The CUDA OOM policy and current batch cap, which also counts failed engine calls (health).
        self.guard = guard

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
        limit = min(self.batch_size, self.guard.max_batch) if self.guard else self.batch_size
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
        done: dict[int, FrameMsg] = {}
        for engine, todo in self._by_engine([m for m in batch if m.verdict is None]):
            self._run(engine, todo, done)
        for m in batch:
            self.emit(done.get(id(m), m))

    def _by_engine(self, todo: list[FrameMsg]) -> list[tuple[InferenceEngine, list[FrameMsg]]]:
        """The frames to infer grouped by their recipe's engine (one call each), in batch order."""
        if self.recipes is None:
            return [(self.engine, todo)] if todo else []
        groups: dict[int, tuple[InferenceEngine, list[FrameMsg]]] = {}
        for m in todo:
            engine = self.recipes.parts_for(m).engine
            groups.setdefault(id(engine), (engine, []))[1].append(m)
        return list(groups.values())

    def _run(self, engine: InferenceEngine, todo: list[FrameMsg], done: dict[int, FrameMsg]) -> None:
        if todo:
            t0 = time.perf_counter()
            try:
                results = self._infer(engine, [m.image for m in todo])
                if len(results) != len(todo):
                    raise RuntimeError(f"engine returned {len(results)} results for {len(todo)} frames")
            except Exception as exc:
                self.errors += 1
                cause = failure_cause(exc)
                log.error("inference_failed", frames=len(todo), error=str(exc), cause=cause.name)
                for m in todo:
                    done[id(m)] = failsafe_copy(m, cause, f"inference failed: {exc}")
            else:
                ms = ms_since(t0)
                for m, result in zip(todo, results, strict=True):
                    done[id(m)] = self._passed_on(m, ms, result)
            self.batches += 1

    @staticmethod
    def _passed_on(msg: FrameMsg, ms: float, result: Detections | PendingDetections | None) -> FrameMsg:
        if result is None:
            return failsafe_copy(msg, FailSafeCause.OUT_OF_MEMORY, "CUDA out of memory")
        if isinstance(result, PendingDetections):
            return msg.with_timing("infer", ms, pending=result)
        return msg.with_timing("infer", ms, detections=result)

    def _infer(
        self, engine: InferenceEngine, images: list[np.ndarray]
    ) -> Sequence[Detections | PendingDetections | None]:
        """The engine call, through the OOM guard when one is set (None: that frame fails safe);
        with ``two_step``, the forward only: each frame's post-processing is left pending."""
        call: Callable[[Sequence[np.ndarray]], Sequence[Detections | PendingDetections]] = engine.infer
        if self.two_step and isinstance(engine, TwoStepEngine):
            call = functools.partial(forward_only, engine)
        if self.guard is None:
            return call(images)
        # degrade_imgsz shrinks the engine that ran out of memory: this part's recipe's engine
        shrink = engine.reduce_imgsz if isinstance(engine, ShrinkingEngine) else cannot_shrink
        return self.guard.infer(call, images, shrink)


def forward_only(engine: TwoStepEngine, images: Sequence[np.ndarray]) -> list[PendingDetections]:
    return [PendingDetections(functools.partial(engine.finish, raw)) for raw in engine.forward(images)]


def cannot_shrink() -> bool:
    """An engine without ``reduce_imgsz``: the OOM policy goes on to a restart."""
    return False


def failure_cause(exc: Exception) -> FailSafeCause:
    return FailSafeCause.OUT_OF_MEMORY if "out of memory" in str(exc).lower() else FailSafeCause.ENGINE_ERROR


class PostprocessStage(Stage):
    """The engine's post-processing (NMS, masks) of each frame the inference stage left pending
    (``runtime.postprocess_stage``), while that stage runs the network on the next frame."""

    def __init__(self, ctx: StageContext, inbox: StageQueue[Item], outbox: StageQueue[Item]) -> None:
        super().__init__("postprocess", ctx, inbox, outbox)

    def process(self, msg: FrameMsg) -> None:
        if msg.pending is None:  # failed safe upstream, or an engine that finished in one step
            self.emit(msg)
            return
        t0 = time.perf_counter()
        try:
            detections = msg.pending.finish()
        except Exception as exc:
            self.errors += 1
            cause = failure_cause(exc)
            log.error(
                "postprocess_failed", seq=msg.seq, source=msg.source_id, error=str(exc), cause=cause.name
            )
            self.emit(failsafe_copy(msg, cause, f"post-processing failed: {exc}"))
            return
        self.emit(msg.with_timing("postprocess", ms_since(t0), detections=detections, pending=None))


class RulesStage(Stage):
    def __init__(
        self,
        ctx: StageContext,
        inbox: StageQueue[Item],
        outbox: StageQueue[Item],
        verdicts: VerdictMaker,
        recipes: RecipeSwitch | None = None,
    ) -> None:
        super().__init__("rules", ctx, inbox, outbox)
        self.verdicts = verdicts
        self.judge_failsafe = failsafe_judge(verdicts)
        self.recipes = recipes  # each part is judged by its recipe's rules

    def process(self, msg: FrameMsg) -> None:
        verdicts, judge = self.verdicts, self.judge_failsafe
        if self.recipes is not None:
            verdicts = self.recipes.parts_for(msg).rules
            judge = failsafe_judge(verdicts)
        if msg.verdict is not None or msg.detections is None:  # failed safe upstream: history counts it
            failed = (
                msg
                if msg.verdict is not None
                else failsafe_copy(msg, FailSafeCause.ENGINE_ERROR, "no detections")
            )
            self.emit(judged(failed, judge))
            return
        t0 = time.perf_counter()
        try:
            verdict = verdicts.evaluate(msg.detections, msg.source_id)
        except Exception as exc:
            self.errors += 1
            log.error("rules_failed", seq=msg.seq, source=msg.source_id, error=str(exc))
            verdict = failsafe_verdict(FailSafeCause.RULES_ERROR, f"rules failed: {exc}")
        self.emit(msg.with_timing("rules", ms_since(t0), verdict=verdict))
