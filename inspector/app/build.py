"""Building the line's components (engine, rules, output) and source readers from config."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inspector.app.components import InferenceEngine, Output, VerdictMaker
from inspector.config.settings import InspectorConfig
from inspector.errors import InspectorError
from inspector.logging import get_logger
from inspector.plc.config import PlcMode
from inspector.sources import FrameSource, SourceReader, SourceState, build_source
from inspector.sources.config import SourceConfig

log = get_logger("inspector.app")


@dataclass(frozen=True)
class Components:
    """The engine, the verdict maker and the output a line runs with."""

    engine: InferenceEngine
    verdicts: VerdictMaker
    output: Output


def _stage_module(name: str, attr: str) -> Any:
    try:
        module = importlib.import_module(f"inspector.{name}")
    except ImportError as exc:
        raise InspectorError(f"the {name} stage cannot be imported: {exc}") from None
    found = getattr(module, attr, None)
    if found is None:
        raise InspectorError(f"this build has no inspector.{name}.{attr} yet")
    return found


def check_names(verdicts: VerdictMaker, names: Sequence[str]) -> None:
    """Rules name classes; refuse a model that lacks them (ConfigError from the rules side)."""
    check = getattr(verdicts, "check_names", None)
    if check is not None:
        check(tuple(names))


def build_engine(config: InspectorConfig) -> InferenceEngine:
    engine: InferenceEngine = _stage_module("engine", "load_engine")(config.engine)
    return engine


def build_verdict_maker(config: InspectorConfig) -> VerdictMaker:
    verdicts: VerdictMaker = _stage_module("rules", "build_verdicts")(config.rules)
    return verdicts


def capture_mode(config: InspectorConfig) -> str:
    """'free_run' or 'triggered' (one frame per PLC trigger), as the plc section says."""
    return str(config.plc.mode.value)


def build_output(config: InspectorConfig) -> Output:
    """The PLC output (which itself only counts and logs when ``plc.role: off``)."""
    from inspector.plc import PlcOutput

    output: Output = PlcOutput(config.plc)
    return output


def build_components(
    config: InspectorConfig,
    engine: InferenceEngine | None = None,
    verdicts: VerdictMaker | None = None,
    output: Output | None = None,
) -> Components:
    """Components from config, except those given; the engine is warmed up and the rules checked."""
    if engine is None:
        engine = build_engine(config)  # load_engine warms up
    else:
        engine.warmup()
    verdicts = verdicts or build_verdict_maker(config)
    check_names(verdicts, engine.names)
    check_rule_sources = getattr(verdicts, "check_sources", None)
    if check_rule_sources is not None:  # rules that name cameras must name configured ones
        check_rule_sources([source.id for source in config.sources])
    output = output or build_output(config)
    warn_if_window_too_short(config, getattr(engine, "warmup_ms", None))
    if problem := config.plc.grab_timeout_problem(config.runtime.trigger_grab_timeout_s):
        log.warning("failsafe_pulse_impossible", problem=problem)
    info = getattr(engine, "info", None)
    log.info(
        "engine_ready",
        device=str(getattr(engine, "device", "?")),
        names=list(engine.names),
        info=repr(info) if info is not None else None,
    )
    return Components(engine, verdicts, output)


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
    given: Mapping[str, FrameSource] | None = None,
    on_state: Callable[[str, SourceState], None] | None = None,
    triggered: bool = False,
) -> list[SourceReader]:
    """One reader per configured source (not yet opened).

    ``given`` replaces the source of an id (hardware we cannot have here, behind the same interface).
    """
    given = given or {}
    return [
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
    ]
