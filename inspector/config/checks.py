"""Static line checks: what the schema of one section cannot say, checked across sections.

``inspector check`` and ``inspector run`` both call ``check_line`` before anything starts,
so a config that ``check`` passes does not fail at ``run`` for a reason a file could show.
Nothing here imports torch or OpenCV or opens a device: ``check`` stays fast on a line PC.
"""

from __future__ import annotations

from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError
from inspector.plc.config import PlcMode, PlcRole
from inspector.rules.checks import source_problems as rule_source_problems

Problem = tuple[str, str]


def source_problems(config: InspectorConfig) -> list[Problem]:
    """At least one source, ids unique."""
    if not config.sources:
        return [("sources", "at least one source is needed")]
    ids = [c.id for c in config.sources]
    return [
        (f"sources.{index}.id", f"duplicate source id {source_id!r}")
        for index, source_id in enumerate(ids)
        if source_id in ids[:index]
    ]


def engine_problems(config: InspectorConfig) -> list[Problem]:
    """A configured model file exists (the shipped demo model is the engine's own business)."""
    model = config.engine.model
    if model is None:
        return []
    if not model.exists():
        return [("engine.model", f"model file {model} does not exist")]
    if not model.is_file():
        return [("engine.model", f"{model} is not a file")]
    return []


def plc_problems(config: InspectorConfig) -> list[Problem]:
    """Triggered capture needs a PLC link: with role off no trigger ever comes and the line idles."""
    if config.plc.mode is PlcMode.TRIGGERED and config.plc.role is PlcRole.OFF:
        reason = "triggered needs plc.role client or server (with role off no PLC sends triggers)"
        return [("plc.mode", reason)]
    return []


def line_problems(
    config: InspectorConfig, *, engine_given: bool = False, output_given: bool = False
) -> list[Problem]:
    """Every static problem of a config. ``engine_given``/``output_given``: the caller brings its
    own engine or output (tests, benchmarks), so the config's model or PLC role is not used."""
    problems = source_problems(config)
    # rules naming cameras name configured ones; mm rules have a scale (the rules' own check)
    problems += rule_source_problems(config.rules, [c.id for c in config.sources])
    if not engine_given:
        problems += engine_problems(config)
    if not output_given:
        problems += plc_problems(config)
    return problems


def check_line(config: InspectorConfig, *, engine_given: bool = False, output_given: bool = False) -> None:
    """Raise one ConfigError listing every static problem by key path."""
    problems = line_problems(config, engine_given=engine_given, output_given=output_given)
    if problems:
        raise ConfigError("configuration is invalid:", tuple(problems))
