"""Static line checks: what the schema of one section cannot say, checked across sections.

``inspector check`` and ``inspector run`` both call ``check_line`` before anything starts,
so a config that ``check`` passes does not fail at ``run`` for a reason a file could show.
Nothing here imports torch or OpenCV or opens a device: ``check`` stays fast on a line PC.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from inspector.config.settings import InspectorConfig
from inspector.engine.metadata import DEMO_MODEL, archive_problem, model_names
from inspector.errors import ConfigError
from inspector.plc.config import PlcMode, PlcRole
from inspector.rules.checks import name_problems
from inspector.rules.checks import source_problems as rule_source_problems

Problem = tuple[str, str]
NAMES_AT_RUN = "class names: the model's could not be read here; they are checked when it loads"


@dataclass(frozen=True, slots=True)
class LineCheck:
    """A config that passed ``check_line``, and what the checks could not cover without loading."""

    model_names: tuple[str, ...] | None  # read from the model file (None: checked at load)
    notes: tuple[str, ...] = ()


def source_problems(config: InspectorConfig) -> list[Problem]:
    """At least one source, ids unique, each kind's optional driver installed."""
    if not config.sources:
        return [("sources", "at least one source is needed")]
    ids = [c.id for c in config.sources]
    problems = [
        (f"sources.{index}.id", f"duplicate source id {source_id!r}")
        for index, source_id in enumerate(ids)
        if source_id in ids[:index]
    ]
    for index, source in enumerate(config.sources):  # a kind's needs on this machine (a driver extra)
        needs = getattr(source, "environment_problems", None)
        problems += [(f"sources.{index}.{key}", why) for key, why in (needs() if needs else [])]
    return problems


def engine_problems(config: InspectorConfig) -> list[Problem]:
    """A configured model file exists and is an intact archive (empty, truncated, corrupted or
    not-a-model files are refused here as at load); the shipped demo model is the engine's own."""
    model = config.engine.model
    if model is None:
        return []
    if not model.exists():
        return [("engine.model", f"model file {model} does not exist")]
    if model.is_dir():
        if len(list(model.glob("*.xml"))) == 1:
            return []  # an OpenVINO export folder (.xml, .bin, metadata.yaml): its backend checks it
        return [("engine.model", f"{model} is not a file (nor an OpenVINO export folder with one .xml)")]
    if not model.is_file():
        return [("engine.model", f"{model} is not a file")]
    problem = archive_problem(model)
    return [("engine.model", problem)] if problem else []


def refine_problems(config: InspectorConfig) -> list[Problem]:
    """The SAM pair ``engine.refine`` names exists (its loader checks the rest at start)."""
    refine = config.engine.refine
    if refine is None or refine.model.exists():
        return []
    return [
        (
            "engine.refine.model",
            f"{refine.model} does not exist (export it: inspector model export --arch sam)",
        )
    ]


def class_problems(config: InspectorConfig) -> tuple[list[Problem], tuple[str, ...] | None]:
    """Rules against the model's class names, read from the file without torch: a rule that names
    a class the model lacks, or one ``engine.classes`` filters out, can never see it; and the
    model's names (None when the file cannot be read this way: the loader checks at run)."""
    path = config.engine.model or DEMO_MODEL
    names = model_names(path) if path.is_file() else None
    if names is None:
        return [], None
    kept = config.engine.classes
    problems: list[Problem] = []
    unknown = [c for c in kept or () if c >= len(names)]
    if unknown:
        reason = (
            f"{unknown} not in 0..{len(names) - 1}: {path.name} has {len(names)} classes ({', '.join(names)})"
        )
        problems.append(("engine.classes", reason))
    refine = config.engine.refine  # the refined classes, named like the rules name them
    for index, name in enumerate(refine.classes if refine is not None else ()):
        if name not in names:
            reason = f"{name!r} is not a class of {path.name} ({', '.join(names)})"
            problems.append((f"engine.refine.classes.{index}", reason))
    return problems + name_problems(config.rules, names, kept), names


def plc_problems(config: InspectorConfig) -> list[Problem]:
    """Triggered capture needs a PLC link: with role off no trigger ever comes and the line idles."""
    if config.plc.mode is PlcMode.TRIGGERED and config.plc.role is PlcRole.OFF:
        reason = "triggered needs plc.role client or server (with role off no PLC sends triggers)"
        return [("plc.mode", reason)]
    return []


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


def http_problems(config: InspectorConfig) -> list[Problem]:
    """The HTTP endpoints (and the operator page) off the loopback address need an access token."""
    health = config.health
    if health.http and not is_loopback(health.http_host) and health.http_token is None:
        reason = (
            f"required when health.http_host ({health.http_host}) is not a loopback address: anyone "
            "on the network would see the line (set a token of 16+ characters, or bind 127.0.0.1)"
        )
        return [("health.http_token", reason)]
    return []


def recipe_problems(config: InspectorConfig, *, engine_given: bool = False) -> list[Problem]:
    """Each recipe checked like the base config (its model file, classes, cameras), every path
    under ``recipes.<name>.``; cameras a recipe names are configured sources."""
    ids = [c.id for c in config.sources]
    problems: list[Problem] = []
    for view in config.recipe_views()[1:]:
        prefix = f"recipes.{view.name}."
        problems += [
            (f"{prefix}cameras.{source}", f"no source has id {source!r} (sources: {', '.join(ids)})")
            for source in config.recipes[view.name].cameras
            if source not in ids
        ]
        effective = config.model_copy(update={"engine": view.engine, "rules": view.rules})
        found = rule_source_problems(effective.rules, ids)
        if not engine_given:
            found += engine_problems(effective) + class_problems(effective)[0]
        problems += [(prefix + path, why) for path, why in found]
    return problems


def line_problems(
    config: InspectorConfig, *, engine_given: bool = False, output_given: bool = False
) -> tuple[list[Problem], LineCheck]:
    """Every static problem of a config. ``engine_given``/``output_given``: the caller brings its
    own engine or output (tests, benchmarks), so the config's model or PLC role is not used."""
    problems = source_problems(config) + http_problems(config)
    # rules naming cameras name configured ones; mm rules have a scale (the rules' own check)
    problems += rule_source_problems(config.rules, [c.id for c in config.sources])
    names: tuple[str, ...] | None = None
    if not engine_given:
        problems += engine_problems(config) + refine_problems(config)
        classes, names = class_problems(config)
        problems += classes
    if not output_given:
        problems += plc_problems(config)
    problems += recipe_problems(config, engine_given=engine_given)
    problems += config.opcua.problems()  # built from config whatever outputs are given
    notes = (NAMES_AT_RUN,) if names is None and not engine_given else ()
    return problems, LineCheck(names, notes)


def check_line(
    config: InspectorConfig, *, engine_given: bool = False, output_given: bool = False
) -> LineCheck:
    """Raise one ConfigError listing every static problem by key path; else say what was covered."""
    problems, covered = line_problems(config, engine_given=engine_given, output_given=output_given)
    if problems:
        raise ConfigError("configuration is invalid:", tuple(problems))
    return covered
