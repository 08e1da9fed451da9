"""The line's parts built from config: engine, rules, outputs (one registry), source readers.

Each builder takes the validated config and returns a part behind the interface the line
needs (``inspector.app.interfaces``). A new output kind (OPC UA) is one module in its own
room and one line in ``VERDICT_OUTPUTS`` below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from inspector.app.interfaces import (
    CheckedRules,
    DescribedEngine,
    EngineOnDevice,
    InferenceEngine,
    Output,
    TimedEngine,
    VerdictMaker,
)
from inspector.archive.writer import ArchiveWriter
from inspector.config.settings import InspectorConfig
from inspector.engine import load_engine
from inspector.engine.refine import with_refinement
from inspector.logging import get_logger
from inspector.plc import PlcOutput
from inspector.plc.config import PlcMode
from inspector.rules import build_verdicts
from inspector.sources import FrameSource, SourceReader, SourceState, build_source
from inspector.sources.config import SourceConfig

log = get_logger("inspector.app")


def plc_output(config: InspectorConfig) -> Output | None:
    """The PLC output (which itself only counts and logs when ``plc.role: off``)."""
    return PlcOutput(config.plc)


# Verdict outputs, in fan-out order: each gets every part's verdict; None = not configured.
VERDICT_OUTPUTS: tuple[Callable[[InspectorConfig], Output | None], ...] = (plc_output,)


def build_verdict_outputs(config: InspectorConfig, given: Sequence[Output] | None = None) -> list[Output]:
    """The verdict outputs the config asks for, or those given instead (tests, benchmarks)."""
    if given is not None:
        return list(given)
    return [output for build in VERDICT_OUTPUTS if (output := build(config)) is not None]


def build_archive(config: InspectorConfig) -> ArchiveWriter | None:
    """The reject archive, a record output after the verdict outputs (``archive.enabled``)."""
    return ArchiveWriter(config.archive) if config.archive.enabled else None


def build_engine(config: InspectorConfig, given: InferenceEngine | None = None) -> InferenceEngine:
    """The engine from ``engine:`` (loaded and warmed up), or the one given, as it is: its
    caller has it ready (a test may hold it on purpose); either wrapped with ``engine.refine``."""
    engine = load_engine(config.engine) if given is None else given
    return with_refinement(engine, config.engine.refine)


def build_rules(config: InspectorConfig, given: VerdictMaker | None, names: Sequence[str]) -> VerdictMaker:
    """The verdict maker from ``rules:`` (or the one given), checked against the model's class
    names and the configured cameras (a ConfigError from the rules side)."""
    verdicts: VerdictMaker = given if given is not None else build_verdicts(config.rules)
    if isinstance(verdicts, CheckedRules):
        verdicts.check_names(tuple(names), config.engine.classes)
        verdicts.check_sources([source.id for source in config.sources])
    return verdicts


def announce_engine(config: InspectorConfig, engine: InferenceEngine) -> None:
    """The ``engine_ready`` event, and a warning when one warm frame outlasts the pulse window."""
    warmup_ms = engine.warmup_ms if isinstance(engine, TimedEngine) else None
    warn_if_window_too_short(config, warmup_ms)
    if problem := config.plc.grab_timeout_problem(config.runtime.trigger_grab_timeout_s):
        log.warning("failsafe_pulse_impossible", problem=problem)
    log.info(
        "engine_ready",
        device=str(engine.device) if isinstance(engine, EngineOnDevice) else "?",
        names=list(engine.names),
        info=repr(engine.info) if isinstance(engine, DescribedEngine) else None,
    )


def warn_if_window_too_short(config: InspectorConfig, frame_ms: float | None) -> None:
    """Free run fails a part safe when its pulse window closes without a verdict: say so at start
    when one warm frame through the engine alone already takes longer than that window."""
    if frame_ms is None or config.plc.mode is not PlcMode.FREE_RUN:
        return
    window_ms = config.plc.pulses.window_ms
    if frame_ms > window_ms:
        log.warning(
            "pulse_window_shorter_than_inference",
            window_ms=window_ms,
            engine_ms=round(frame_ms, 1),
            hint="parts will be failed safe at their deadline (900): raise plc.pulses.delay_ms / "
            "late_ms to cover the line's latency, or run the engine on a GPU",
        )


def build_readers(
    configs: Sequence[SourceConfig],
    stop: threading.Event,
    given: Mapping[str, FrameSource],
    on_state: Callable[[str, SourceState], None],
    triggered: bool,
) -> tuple[SourceReader, ...]:
    """One reader per configured source (not yet opened).

    ``given`` replaces the source of an id (hardware we cannot have here, behind the same interface).
    """
    return tuple(
        SourceReader(
            c.id,
            build_source(c, triggered, given.get(c.id)),
            stop,
            c.fps_limit,
            c.reconnect_initial_s,
            c.reconnect_max_s,
            on_state=on_state,
        )
        for c in configs
    )
