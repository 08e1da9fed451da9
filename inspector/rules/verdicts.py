"""Turn one frame's detections into a verdict: part rules, then history rules, in config order.

Verdict: PASS when nothing fires; REJECT when a reject rule fires; ALARM when an
alarm rule fires (ALARM outranks REJECT and a PLC should treat an ALARM part as
not good). Reasons list alarm reasons first, then reject reasons, each in config
order, so ``Verdict.first_code`` is the most severe rule that fired.
``Verdict.measurements`` holds, per rule named in ``rules.measurements`` (default:
every rule in order), that rule's measured value for this part (see README).

``evaluate`` never raises: a part whose rules cannot run gets a fail-safe REJECT
(``FailSafeCause.RULES_ERROR``), never a PASS.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from inspector.errors import ConfigError
from inspector.logging import get_logger
from inspector.messages import Detections, FailSafeCause, Verdict, VerdictCode, failsafe_verdict
from inspector.rules.base import Rule, RuleOutcome
from inspector.rules.config import RulesConfig
from inspector.rules.kinds import compile_rule
from inspector.rules.part import PartView
from inspector.rules.specs import Action, DistanceSpec, SelectingSpec, uses_mm

log = get_logger("inspector.rules")


class VerdictMaker:
    """Judges parts with the configured rules; keeps per-camera history for history rules."""

    def __init__(self, config: RulesConfig) -> None:
        self.config = config
        self.zones = {
            name: np.asarray(zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
            for name, zone in config.zones.items()
        }
        zones = self.zones
        self.part_rules: tuple[Rule, ...] = tuple(
            compile_rule(name, spec, zones) for name, spec in config.part_rules().items()
        )
        self.history_rules: tuple[Rule, ...] = tuple(
            compile_rule(name, spec, zones) for name, spec in config.history_rules().items()
        )
        self.measured = tuple(config.measurements) or tuple(config.rules)
        self._sources = {
            name: frozenset(spec.sources) if spec.sources is not None else None
            for name, spec in config.rules.items()
        }
        self._lock = threading.Lock()  # history rules keep state; one part at a time
        self._counts: Counter[str] = Counter()

    def check_names(self, names: Sequence[str]) -> None:
        """Raise ConfigError naming each rule and key that names a class the model lacks."""
        known = set(names)
        problems = []
        for rule_name, spec in self.config.rules.items():
            if not isinstance(spec, SelectingSpec):
                continue
            keys = [("classes", spec.classes)]
            if isinstance(spec, DistanceSpec) and spec.to_classes:
                keys.append(("to_classes", spec.to_classes))
            for key, classes in keys:
                for cls in classes:
                    if cls not in known:
                        path = f"rules.rules.{rule_name}.{spec.kind}.{key}"
                        problems.append((path, f"unknown class {cls!r}; the model has: {', '.join(names)}"))
        if problems:
            raise ConfigError("rules name classes the model does not have:", tuple(problems))

    def check_sources(self, source_ids: Iterable[str]) -> None:
        """Raise ConfigError when a rule names an unknown source, or needs mm on a camera
        without a calibration."""
        ids = list(source_ids)
        calibration = self.config.calibration
        problems = []
        for name, spec in self.config.rules.items():
            for sid in spec.sources or ():
                if sid not in ids:
                    reason = f"unknown source {sid!r}; the sources are: {', '.join(ids) or 'none'}"
                    problems.append((f"rules.rules.{name}.{spec.kind}.sources", reason))
            key = uses_mm(spec)
            for sid in ids if key else ():
                judged = spec.sources is None or sid in spec.sources
                if judged and sid not in calibration.cameras and calibration.px_per_mm is None:
                    reason = f"rule {name!r} uses {key} but camera {sid!r} has no scale"
                    problems.append((f"rules.calibration.cameras.{sid}", reason))
        if problems:
            raise ConfigError("rules do not fit the configured sources:", tuple(problems))

    def evaluate(self, detections: Detections, source_id: str) -> Verdict:
        """The verdict for one part (one frame's detections from camera ``source_id``)."""
        with self._lock:
            try:
                verdict = self._evaluate(detections, source_id)
            except Exception as exc:  # a part we cannot judge is failed safe, never passed
                log.error("rules_failed", source_id=source_id, error=f"{type(exc).__name__}: {exc}")
                verdict = failsafe_verdict(FailSafeCause.RULES_ERROR, f"rules failed: {exc}")
                self._counts["error"] += 1
            self._counts[verdict.code.name.lower()] += 1
            return verdict

    def stats(self) -> dict[str, int]:
        """Parts judged so far by verdict (pass/reject/alarm) and rule failures (error)."""
        with self._lock:
            return {key: self._counts[key] for key in ("pass", "reject", "alarm", "error")}

    def _evaluate(self, detections: Detections, source_id: str) -> Verdict:
        part = PartView(
            detections,
            source_id,
            self.config.calibration.scale_for(source_id),
            crop_margin=self.config.crop_margin_px,
            zones=self.zones,
        )
        outcomes: dict[str, tuple[Rule, RuleOutcome]] = {}
        for rule in self.part_rules:
            outcomes[rule.name] = (rule, self._run(rule, part))
        part.interim = _code_of(outcomes.values())
        for rule in self.history_rules:
            outcomes[rule.name] = (rule, self._run(rule, part))
        code = _code_of(outcomes.values())
        alarms = [r for rule, out in outcomes.values() if rule.action is Action.ALARM for r in out.reasons]
        rejects = [r for rule, out in outcomes.values() if rule.action is Action.REJECT for r in out.reasons]
        measurements = tuple(outcomes[name][1].value for name in self.measured)
        return Verdict(code=code, reasons=(*alarms, *rejects), measurements=measurements)

    def _run(self, rule: Rule, part: PartView) -> RuleOutcome:
        """The rule's outcome, or nothing measured when the rule does not judge this camera."""
        sources = self._sources[rule.name]
        if sources is not None and part.source_id not in sources:
            return NOT_JUDGED
        return rule(part)


NOT_JUDGED = RuleOutcome(math.nan)


def _code_of(outcomes: Iterable[tuple[Rule, RuleOutcome]]) -> VerdictCode:
    code = VerdictCode.PASS
    for rule, outcome in outcomes:
        if outcome.reasons:
            if rule.action is Action.ALARM:
                return VerdictCode.ALARM
            code = VerdictCode.REJECT
    return code


def build_verdicts(config: RulesConfig) -> VerdictMaker:
    """The verdict maker for a validated rules config."""
    maker = VerdictMaker(config)
    if not config.rules:
        log.warning("rules_empty", detail="no rules configured: every inspected part will PASS")
    return maker
