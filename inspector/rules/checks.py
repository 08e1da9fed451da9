"""Start-time checks of the rules against the rest of the line: model class names, the
engine's class filter, source ids.

Pure config: no torch, no OpenCV, no model, so ``inspector check`` can run the same
checks as ``inspector run`` (``check_sources``; ``check_names`` once the model's names
are known). Each raises one ConfigError listing every problem by key path.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence

from inspector.errors import ConfigError
from inspector.rules.config import RulesConfig
from inspector.rules.specs import AreaShareSpec, DistanceSpec, SelectingSpec, uses_mm


def named_classes(config: RulesConfig) -> Iterator[tuple[str, str]]:
    """(key path, class name) for every class a rule names."""
    for rule_name, spec in config.rules.items():
        if not isinstance(spec, SelectingSpec):
            continue
        keys = [("classes", spec.classes)]
        if isinstance(spec, DistanceSpec) and spec.to_classes:
            keys.append(("to_classes", spec.to_classes))
        if isinstance(spec, AreaShareSpec) and spec.roi_classes:
            keys.append(("roi_classes", spec.roi_classes))
        for key, classes in keys:
            for cls in classes:
                yield f"rules.rules.{rule_name}.{spec.kind}.{key}", cls


def name_problems(
    config: RulesConfig, names: Sequence[str], kept: Collection[int] | None = None
) -> list[tuple[str, str]]:
    """(key path, reason) for each class a rule names that the model lacks, or that the engine's
    class filter (``engine.classes``, ids into ``names``) drops: such a rule can never see an
    instance of it, so it never fires (or, counting absences, always does)."""
    dropped = {n for i, n in enumerate(names) if kept is not None and i not in kept}
    problems = []
    for path, cls in named_classes(config):
        if cls not in names:
            problems.append((path, f"unknown class {cls!r}; the model has: {', '.join(names)}"))
        elif cls in dropped:
            filtered = ", ".join(f"{i} ({names[i]})" for i in sorted(kept or ()) if 0 <= i < len(names))
            reason = (
                f"class {cls!r} (id {names.index(cls)}) is dropped by engine.classes, which keeps {filtered}"
            )
            problems.append((path, reason))
    return problems


def source_problems(config: RulesConfig, source_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(key path, reason) for each rule or calibration that names a source the line lacks,
    and each camera a mm rule judges without a scale."""
    ids = list(source_ids)
    listed = ", ".join(ids) or "none"
    calibration = config.calibration
    problems = []
    for camera in calibration.cameras:
        if camera not in ids:
            # A typo here would silently measure that camera with the default scale.
            reason = f"no source with id {camera!r}; the sources are: {listed}"
            problems.append((f"rules.calibration.cameras.{camera}", reason))
    for name, spec in config.rules.items():
        for sid in spec.sources or ():
            if sid not in ids:
                reason = f"unknown source {sid!r}; the sources are: {listed}"
                problems.append((f"rules.rules.{name}.{spec.kind}.sources", reason))
        key = uses_mm(spec)
        for sid in ids if key else ():
            judged = spec.sources is None or sid in spec.sources
            if judged and sid not in calibration.cameras and calibration.px_per_mm is None:
                reason = f"rule {name!r} uses {key} but camera {sid!r} has no scale"
                problems.append((f"rules.calibration.cameras.{sid}", reason))
    return problems


def check_names(config: RulesConfig, names: Sequence[str], kept: Collection[int] | None = None) -> None:
    """Raise ConfigError naming each rule and key that names a class the model lacks or the
    engine's class filter ``kept`` (class ids; None = all) drops."""
    problems = name_problems(config, names, kept)
    if problems:
        raise ConfigError("rules name classes the engine never reports:", tuple(problems))


def check_sources(config: RulesConfig, source_ids: Iterable[str]) -> None:
    """Raise ConfigError when a rule or a calibration names an unknown source, or a mm rule
    judges a camera without a scale."""
    problems = source_problems(config, source_ids)
    if problems:
        raise ConfigError("rules do not fit the configured sources:", tuple(problems))
