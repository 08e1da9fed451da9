"""The small interfaces the runtime needs from the engine, the rules and the output.

The App takes these as components so each can be built from config or handed
in (tests, benchmarks). The real ones live in ``inspector.engine``,
``inspector.rules`` and ``inspector.plc``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from inspector.logging import get_logger
from inspector.messages import Detections, FrameMsg, Verdict, VerdictCode

log = get_logger("inspector.app")


class InferenceEngine(Protocol):
    """What the inference stage calls: a batch of BGR frames in, one Detections per frame out."""

    @property
    def names(self) -> Sequence[str]: ...

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...

    def warmup(self) -> None: ...


class VerdictMaker(Protocol):
    """What the rules stage calls for each frame's detections."""

    def evaluate(self, detections: Detections, source_id: str) -> Verdict: ...


@runtime_checkable
class FailSafeJudge(Protocol):
    """A verdict maker with history rules (``inspector.rules.VerdictMaker``): parts failed safe
    outside the rules count in its windows too, so a camera or engine that keeps failing raises
    an ALARM like a run of rejects would. Thread-safe: the rules and output stages both call it."""

    def judge_failsafe(self, verdict: Verdict, source_id: str) -> Verdict: ...


def failsafe_judge(verdicts: VerdictMaker) -> Callable[[Verdict, str], Verdict] | None:
    """The maker's ``judge_failsafe``, or None for one without history rules."""
    return verdicts.judge_failsafe if isinstance(verdicts, FailSafeJudge) else None


class Output(Protocol):
    """Where verdicts go (the PLC link). ``submit`` must not block."""

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def submit(self, msg: FrameMsg) -> None: ...

    def set_status(self, **flags: bool) -> None: ...

    def set_healthy(self, healthy: bool) -> None: ...


@runtime_checkable
class TriggerSource(Protocol):
    """An output that also hands out PLC triggers (triggered capture mode)."""

    def next_trigger(self, timeout: float) -> Any: ...


class LogOnlyOutput:
    """An output that only keeps counts: verdicts are already in the 'inspection' log events.

    For runs without a PLC link object (tests, benchmarks).
    """

    def __init__(self) -> None:
        self.submitted = 0
        self.by_code: dict[str, int] = {}
        self.status: dict[str, bool] = {}
        self.healthy = False

    def start(self) -> None:
        log.info("output_log_only", note="verdicts are logged, no PLC is written")

    def stop(self, timeout: float) -> None:
        pass

    def submit(self, msg: FrameMsg) -> None:
        self.submitted += 1
        code = msg.verdict.code if msg.verdict is not None else VerdictCode.NONE
        self.by_code[code.name] = self.by_code.get(code.name, 0) + 1

    def set_status(self, **flags: bool) -> None:
        self.status.update(flags)

    def set_healthy(self, healthy: bool) -> None:
        self.healthy = healthy
