"""The small interfaces the line needs from the engine, the rules and the outputs.

The composition root (``inspector.app.compose``) builds the real ones from config
(``inspector.engine``, ``inspector.rules``, ``inspector.plc``, ``inspector.archive``) or takes
them handed in (tests, benchmarks). Optional capabilities are Protocols of their own, checked
with ``isinstance`` where the line is built.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from inspector.engine.config import EngineConfig
from inspector.messages import Detections, FrameMsg, Verdict
from inspector.plc import PlcStats


class InferenceEngine(Protocol):
    """What the inference stage calls: a batch of BGR frames in, one Detections per frame out."""

    @property
    def names(self) -> Sequence[str]: ...

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...

    def warmup(self) -> None: ...


@runtime_checkable
class EngineOnDevice(Protocol):
    """An engine that says where it runs (the GPU watchdog, health, the ``engine_ready`` event)."""

    @property
    def device(self) -> torch.device: ...


@runtime_checkable
class ConfiguredEngine(Protocol):
    """An engine built from an ``EngineConfig``: the device asked for, next to the one found."""

    @property
    def config(self) -> EngineConfig: ...

    @property
    def device(self) -> torch.device: ...


@runtime_checkable
class DescribedEngine(Protocol):
    """An engine that describes its model (``ModelInfo``) for the ``engine_ready`` event."""

    @property
    def info(self) -> object: ...


@runtime_checkable
class ShrinkingEngine(Protocol):
    """An engine that can lower its input size (the ``degrade_imgsz`` OOM policy)."""

    def reduce_imgsz(self) -> bool: ...


@runtime_checkable
class TwoStepEngine(Protocol):
    """An engine whose network forward and post-processing (NMS, masks) can run in two stages:
    ``[finish(raw) for raw in forward(frames)]`` is ``infer(frames)`` (``runtime.postprocess_stage``)."""

    def forward(self, frames: Sequence[np.ndarray]) -> Sequence[object]: ...

    def finish(self, raw: Any) -> Detections: ...


@runtime_checkable
class TimedEngine(Protocol):
    """An engine that measured one warm frame (ms) during its warm-up."""

    @property
    def warmup_ms(self) -> float | None: ...


class VerdictMaker(Protocol):
    """What the rules stage calls for each frame's detections."""

    def evaluate(self, detections: Detections, source_id: str) -> Verdict: ...


@runtime_checkable
class CheckedRules(Protocol):
    """Rules that check the classes and cameras they name (``inspector.rules.VerdictMaker``)."""

    def check_names(self, names: Sequence[str], kept: Collection[int] | None = None) -> None: ...

    def check_sources(self, source_ids: Iterable[str]) -> None: ...


@runtime_checkable
class FailSafeJudge(Protocol):
    """A verdict maker with history rules (``inspector.rules.VerdictMaker``): parts failed safe
    outside the rules count in its windows too, so a camera or engine that keeps failing raises
    an ALARM like a run of rejects would. Thread-safe: the rules and delivery stages both call it."""

    def judge_failsafe(self, verdict: Verdict, source_id: str) -> Verdict: ...


FailSafeJudgeFn = Callable[[Verdict, str], Verdict]


def failsafe_judge(verdicts: VerdictMaker) -> FailSafeJudgeFn | None:
    """The maker's ``judge_failsafe``, or None for one without history rules."""
    return verdicts.judge_failsafe if isinstance(verdicts, FailSafeJudge) else None


class Output(Protocol):
    """Where the line fans each part's verdict out to (the PLC; the reject archive; OPC UA).
    ``submit`` must not block; ``stop`` hands over what is queued within ``timeout``."""

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def submit(self, msg: FrameMsg) -> object: ...


@runtime_checkable
class StatusOutput(Protocol):
    """An output that also shows the line's state (the PLC status word and heartbeat)."""

    def set_status(self, **flags: bool) -> None: ...

    def set_healthy(self, healthy: bool) -> None: ...


class PlcTrigger(Protocol):
    """One part the PLC announced (``inspector.plc.Trigger``)."""

    @property
    def part_id(self) -> int: ...

    @property
    def t_trigger(self) -> float: ...  # monotonic


@runtime_checkable
class TriggerSource(Protocol):
    """An output that also hands out PLC triggers (triggered capture mode)."""

    def next_trigger(self, timeout: float) -> PlcTrigger | None: ...


@runtime_checkable
class PartTracker(Protocol):
    """An output that tracks free-run parts from their capture (``PlcOutput``): it fails safe a
    part whose verdict does not come by its deadline. ``captured`` must not block."""

    def captured(self, seq: int, t_capture: float) -> None: ...


@runtime_checkable
class LinkOutput(Protocol):
    """An output over a link with its own counters (``PlcOutput``): health, metrics, stats."""

    @property
    def link_up(self) -> bool: ...

    def stats(self) -> PlcStats: ...


@dataclass(frozen=True)
class RecipeEntry:
    """One product the line can be switched to: its number (what a PLC writes; 0 is the
    config's base settings) and name, as a recipe list shows them."""

    number: int
    name: str
    description: str = ""


class RecipeControl(Protocol):
    """The line's product changeover, one for every way in (the PLC register, OPC UA's
    ``PrepareRecipe``, a reload): ``request`` asks for a recipe, which takes effect between parts,
    never mid-part; ``active`` is the one parts are judged by now. Thread-safe."""

    def recipes(self) -> Sequence[RecipeEntry]: ...

    @property
    def active(self) -> RecipeEntry: ...

    def request(self, number: int, origin: str) -> None:
        """Switch to recipe ``number`` before the next part; raises ``UnknownRecipe`` (the old one
        stays) for a number no recipe has. ``origin`` names who asked, for the audit log."""
        ...
