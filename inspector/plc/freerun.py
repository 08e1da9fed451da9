"""Free-run parts: every captured frame is a part, answered exactly once, in capture order.

The capture side announces each frame as soon as it has its sequence number
(``captured``: seq and capture time). The part's verdict must come while its reject
pulse is still valid: by capture + ``pulses.delay_ms`` + ``pulses.late_ms``. At that
moment, without a verdict, the part is failed safe (``DEADLINE``, code 900): its
block goes out and its reject (or alarm) pulse fires. A verdict that comes afterwards
is counted and dropped, as in triggered mode (``handshake.InputWatcher``): the PLC has
its answer for that part. Outcomes leave in sequence order, so the PLC sees part ids
1, 2, 3, ... without gaps; a part waits for the parts captured before it, at most until
their deadlines.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.messages import FailSafeCause, Verdict, failsafe_verdict
from inspector.plc.config import PlcConfig
from inspector.plc.state import OutputState

ANSWERED_MEMORY = 4096  # seqs remembered after their outcome left, to recognise late verdicts

# (part_id, verdict, t_capture, inspect_ms, pulse_until, recipe) -> queued for delivery
Deliver = Callable[[int, Verdict, float, float, float | None, int], None]


@dataclass
class _Part:
    t_capture: float
    timer: asyncio.TimerHandle | None
    verdict: Verdict | None = None
    inspect_ms: float = 0.0
    pulse_until: float | None = None
    failed_here: bool = False  # failed safe by this tracker: a verdict after it is late
    recipe: int = 0  # the recipe active at its capture; its verdict brings the one it was judged by


class FreeRunTracker:
    """Open free-run parts with their deadlines; all methods run on the output's event loop."""

    def __init__(self, config: PlcConfig, state: OutputState, deliver: Deliver, log: Any) -> None:
        pulses = config.pulses
        self.window_s = pulses.window_ms / 1000.0
        # A deadline fail-safe is created as its window closes (its timer may fire a little late on a
        # loaded loop): its pulse gets the fail-safe grace from that moment on.
        self._grace_s = pulses.failsafe_grace_ms / 1000.0
        self._code = config.failsafe.verdict_code
        self._state = state
        self._deliver = deliver
        self._log = log
        self._parts: dict[int, _Part] = {}
        self._order: list[int] = []  # heap of open seqs: the smallest leaves first
        self._answered: OrderedDict[int, bool] = OrderedDict()  # seq -> was failed safe
        self._released: int | None = None  # highest seq delivered in order (all below are answered)
        self.accepting = True

    def captured(self, seq: int, t_capture: float) -> None:
        """A frame got its seq at ``t_capture``: it is a part from now on, with a deadline."""
        if not self.accepting or seq in self._parts or seq in self._answered:
            return
        if self._released is not None and seq <= self._released:
            return
        loop = asyncio.get_running_loop()
        # loop.time() is time.monotonic() on the default loops; call_at takes loop time
        at = loop.time() + (t_capture + self.window_s - time.monotonic())
        timer = loop.call_at(at, self._expire, seq)
        self._parts[seq] = _Part(t_capture, timer, recipe=self._state.recipe)
        heapq.heappush(self._order, seq)

    def resolve(
        self, seq: int, verdict: Verdict, t_capture: float, inspect_ms: float, recipe: int = 0
    ) -> None:
        """The pipeline's verdict for part ``seq``: delivered in order, or dropped as late."""
        part = self._parts.get(seq)
        if part is None:
            failed = self._answered.get(seq)
            if failed is None and self._released is not None and seq <= self._released:
                failed = True  # answered so long ago it left the memory: only a deadline does that
            if failed is None:  # never announced (a caller without a capture side): deliver as is
                self._deliver(seq, verdict, t_capture, inspect_ms, None, recipe)
            elif failed:
                self._state.count(late_verdicts=1)
                self._log.warning("plc.late_verdict_dropped", part_id=seq, verdict=verdict.code.name)
            else:
                self._log.error("plc.second_verdict_dropped", part_id=seq, verdict=verdict.code.name)
            return
        if part.verdict is not None:
            self._log.error("plc.second_verdict_dropped", part_id=seq, verdict=verdict.code.name)
            return
        if part.timer is not None:
            part.timer.cancel()
        part.verdict, part.inspect_ms, part.recipe = verdict, inspect_ms, recipe
        self._release()

    def _expire(self, seq: int) -> None:
        part = self._parts.get(seq)
        if part is None or part.verdict is not None:
            return
        self._state.count(deadline_failsafes=1)
        self._log.error("plc.inspect_deadline", part_id=seq, mode="free_run", window_ms=self.window_s * 1000)
        self._fail(part, FailSafeCause.DEADLINE, "no verdict before its pulse window closed")
        part.pulse_until = time.monotonic() + self._grace_s
        self._release()

    def _fail(self, part: _Part, cause: FailSafeCause, message: str) -> None:
        if part.timer is not None:
            part.timer.cancel()
        part.verdict = failsafe_verdict(cause, message, self._code)
        part.inspect_ms = 0.0
        part.failed_here = True

    def _release(self) -> None:
        """Deliver answered parts from the oldest on; stop at the first one still open."""
        while self._order:
            seq = self._order[0]
            part = self._parts[seq]
            if part.verdict is None:
                return
            heapq.heappop(self._order)
            del self._parts[seq]
            self._remember(seq, part.failed_here)
            self._released = seq if self._released is None else max(self._released, seq)
            self._deliver(seq, part.verdict, part.t_capture, part.inspect_ms, part.pulse_until, part.recipe)

    def _remember(self, seq: int, failed: bool) -> None:
        self._answered[seq] = failed
        while len(self._answered) > ANSWERED_MEMORY:
            self._answered.popitem(last=False)

    def fail_all(self, cause: FailSafeCause, message: str) -> int:
        """Fail safe every open part (shutdown); later announcements are ignored. Returns the count."""
        self.accepting = False
        failed = [part for part in self._parts.values() if part.verdict is None]
        for part in failed:
            self._fail(part, cause, message)
        self._release()
        return len(failed)
