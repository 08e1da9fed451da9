"""Intake: one capture stage per source, and in triggered mode a dispatcher of PLC triggers."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inspector.app.interfaces import TriggerSource
from inspector.app.queues import Full, StageQueue
from inspector.app.stage_thread import Item, Stage, StageContext, failsafe_copy, log
from inspector.messages import EndOfStream, FailSafeCause, FrameMsg
from inspector.sources import BadFrameError, SourceReader
from inspector.sources.base import DeviceStamp

NO_IMAGE = np.zeros((0, 0, 3), np.uint8)  # the image of a fail-safe message for a frame never captured


@dataclass(frozen=True, slots=True)
class PartTrigger:
    """A PLC trigger as the capture stages see it."""

    part_id: int
    t_trigger: float  # monotonic
    recipe: int | None = None  # the recipe the PLC triggered this part with (None: the active one)


# (seq, the recipe a trigger asked for or None) -> the recipe number of the part captured now
RecipeStamp = Callable[[int, int | None], int]


def base_recipe(seq: int, wanted: int | None) -> int:
    """A line without recipes: every part is judged by the base settings (recipe 0)."""
    return 0


class SeqCounter:
    """Frame sequence numbers shared by all sources (thread-safe). ``on_capture`` hears of each
    captured frame in seq order (the PLC output tracks free-run parts from there)."""

    def __init__(self, on_capture: Sequence[Callable[[int, float], None]] = ()) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()
        self.on_capture = tuple(on_capture)

    def __call__(self) -> int:
        with self._lock:
            return next(self._count)

    def capture(self, t_capture: float) -> int:
        """The seq of a frame captured at ``t_capture``, announced to ``on_capture`` in seq order."""
        with self._lock:
            seq = next(self._count)
            for announce in self.on_capture:
                try:
                    announce(seq, t_capture)
                except Exception as exc:  # the part still travels the line; its verdict is delivered
                    log.error("capture_announce_failed", seq=seq, error=str(exc))
            return seq


class FrameBudget:
    """At most ``limit`` frames taken across all sources (``runtime.max_frames``); thread-safe."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.taken = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Reserve one frame; False once the budget is spent (the capture stage then ends)."""
        with self._lock:
            if self.limit is not None and self.taken >= self.limit:
                return False
            self.taken += 1
            return True


class CaptureStage(Stage):
    """Reads one source. Free-run: frames as fast as the source (and fps limit) give them.
    Triggered: one frame per trigger from ``inbox``; a trigger without a frame is failed safe."""

    def __init__(
        self,
        ctx: StageContext,
        intake_stop: threading.Event,
        reader: SourceReader,
        outbox: StageQueue[Item],
        seq: SeqCounter,
        triggers: StageQueue[Item] | None = None,
        grab_timeout_s: float = 1.0,
        budget: FrameBudget | None = None,
        recipe: RecipeStamp = base_recipe,
    ) -> None:
        super().__init__(f"capture.{reader.source_id}", ctx, triggers, outbox)
        self.recipe = recipe  # each part is judged by the recipe active at its capture
        self.intake_stop = intake_stop
        self.reader = reader
        self.seq = seq
        self.grab_timeout_s = grab_timeout_s
        self.budget = budget or FrameBudget(None)

    def loop(self) -> None:
        if self.inbox is not None:
            super().loop()
            return
        while not self.intake_stop.is_set() and not self.ctx.stop.is_set():
            if not self.budget.take():
                return
            try:
                image = self.reader.grab()
            except BadFrameError as bad:
                self._send_bad(bad, None)
                continue
            if image is None:
                if self.reader.ended:
                    return
                continue
            self._send(image, None)

    def process(self, trigger: PartTrigger) -> None:
        try:
            image = self.reader.grab(timeout=self.grab_timeout_s)
        except BadFrameError as bad:
            self._send_bad(bad, trigger.part_id, trigger.recipe)
            return
        if image is not None:
            self._send(image, trigger.part_id, trigger.recipe)
            return
        stopping = self.ctx.stop.is_set()
        cause = FailSafeCause.SHUTDOWN if stopping else FailSafeCause.CAMERA_LOST
        why = "stopped before capture" if stopping else f"no frame from {self.reader.source_id}"
        seq = self.seq()
        msg = FrameMsg(
            seq, self.reader.source_id, trigger.t_trigger, NO_IMAGE, trigger.part_id,
            recipe=self.recipe(seq, trigger.recipe),
        )  # fmt: skip
        self.errors += 1
        self.ctx.rescue(failsafe_copy(msg, cause, why))

    def _send(self, image: np.ndarray, part_id: int | None, recipe: int | None = None) -> None:
        """``part_id``: the PLC's, for a triggered part; None in free run, where the part id IS the
        frame's seq, set here once for the log, the archive and the PLC alike."""
        now = time.monotonic()
        ms = self.reader.last_grab_ms  # the read alone: the fps limiter's wait is idle time, not work
        seq = self.seq.capture(now)
        part = seq if part_id is None else part_id
        stamp = self.reader.last_stamp or DeviceStamp()
        msg = FrameMsg(
            seq,
            self.reader.source_id,
            now,
            image,
            part,
            (("capture", ms),),
            device_frame_id=stamp.frame_id,
            device_timestamp=stamp.timestamp,
            recipe=self.recipe(seq, recipe),
        )
        self.processed += int(self.inbox is None)
        self.last_progress = now
        self.emit(msg)

    def _send_bad(self, bad: BadFrameError, part_id: int | None, recipe: int | None = None) -> None:
        """A frame the source read but that cannot be inspected: a part all the same, failed safe
        down the line (in seq order, counted by the history rules), never dropped or passed."""
        now = time.monotonic()
        seq = self.seq.capture(now) if isinstance(self.seq, SeqCounter) else self.seq()
        stamp = self.reader.last_stamp or DeviceStamp()
        msg = FrameMsg(
            seq,
            self.reader.source_id,
            now,
            NO_IMAGE,
            part_id,
            (("capture", 0.0),),
            device_frame_id=stamp.frame_id,
            device_timestamp=stamp.timestamp,
            recipe=self.recipe(seq, recipe),
        )
        self.errors += 1
        self.last_progress = now
        self.emit(failsafe_copy(msg, FailSafeCause.BAD_IMAGE, bad.reason))

    def finish(self) -> None:
        self.reader.close()


class TriggerDispatcher(Stage):
    """Polls the output's ``next_trigger`` and hands each trigger to every capture stage."""

    def __init__(
        self,
        ctx: StageContext,
        intake_stop: threading.Event,
        plc: TriggerSource,
        targets: Sequence[StageQueue[Item]],
        seq: Callable[[], int],
    ) -> None:
        super().__init__("triggers", ctx, None, None)
        self.intake_stop = intake_stop
        self.plc = plc
        self.targets = tuple(targets)
        self.seq = seq  # for the fail-safe message of a trigger that could not be queued

    def loop(self) -> None:
        while not self.intake_stop.is_set() and not self.ctx.stop.is_set():
            trigger = self.plc.next_trigger(timeout=self.ctx.poll_s)
            if trigger is None:
                continue
            # the recipe the PLC triggered the part with (inspector.plc.Trigger has one)
            part = PartTrigger(trigger.part_id, trigger.t_trigger, getattr(trigger, "recipe", None))
            for queue in self.targets:
                self._hand_over(queue, part)
            self.processed += 1
            self.last_progress = time.monotonic()

    def _hand_over(self, queue: StageQueue[Item], part: PartTrigger) -> None:
        """Queue ``part`` for one camera; a full BLOCK queue is waited on until the hard stop, which
        fails the part safe (the camera's capture stage drains its triggers until then)."""
        while True:
            try:
                queue.put(part, timeout=self.ctx.poll_s)
                return
            except Full:
                if self.ctx.stop.is_set():
                    self.errors += 1
                    seq = self.seq()
                    self.ctx.rescue(
                        trigger_failsafe(
                            part, seq, trigger_source(queue), FailSafeCause.SHUTDOWN, "stopped before capture"
                        )
                    )
                    return

    def finish(self) -> None:
        for queue in self.targets:
            queue.put(EndOfStream(self.stage_name), control=True)


TRIGGER_QUEUE_PREFIX = "triggers."  # trigger queues are named triggers.<source id>


def trigger_source(queue: StageQueue[Item]) -> str:
    return queue.name.removeprefix(TRIGGER_QUEUE_PREFIX)


def trigger_failsafe(
    part: PartTrigger, seq: int, source_id: str, cause: FailSafeCause, message: str
) -> FrameMsg:
    """The fail-safe message of a triggered part that was never captured."""
    msg = FrameMsg(seq, source_id, part.t_trigger, NO_IMAGE, part.part_id, recipe=part.recipe or 0)
    return failsafe_copy(msg, cause, message)


def trigger_dropped(
    rescue: Callable[[FrameMsg], None], seq: Callable[[], int], source_id: str
) -> Callable[[Any], None]:
    """The on_drop of a trigger queue: an overrun trigger's part is failed safe, never lost."""

    def on_drop(item: Any) -> None:
        if isinstance(item, PartTrigger):
            why = "trigger overran the camera"
            rescue(trigger_failsafe(item, seq(), source_id, FailSafeCause.TRIGGER_OVERRUN, why))

    return on_drop
