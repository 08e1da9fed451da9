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
        zones = {
            name: np.asarray(zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
            for name, zone in config.zones.items()
        }
        self.part_rules: tuple[Rule, ...] = tuple(
            compile_rule(name, spec, zones) for name, spec in config.part_rules().items()
        )
        self.history_rules: tuple[Rule, ...] = tuple(
            compile_rule(name, spec, zones) for name, spec in config.history_rules().items()
        )
        self.measured = tuple(config.measurements) or tuple(config.rules)
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
        """Raise ConfigError when a rule needs mm but a camera has no calibration."""
        needs_mm = [(n, k) for n, s in self.config.rules.items() if (k := uses_mm(s))]
        if not needs_mm:
            return
        calibration = self.config.calibration
        problems = [
            (f"rules.calibration.cameras.{sid}", f"rule {rule!r} uses {key} but camera {sid!r} has no scale")
            for sid in source_ids
            if sid not in calibration.cameras and calibration.px_per_mm is None
            for rule, key in needs_mm[:1]
        ]
        if problems:
            raise ConfigError("rules need a mm calibration for these cameras:", tuple(problems))

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
        )
        outcomes: dict[str, tuple[Rule, RuleOutcome]] = {}
        for rule in self.part_rules:
            outcomes[rule.name] = (rule, rule(part))
        part.interim = _code_of(outcomes.values())
        for rule in self.history_rules:
            outcomes[rule.name] = (rule, rule(part))
        code = _code_of(outcomes.values())
        alarms = [r for rule, out in outcomes.values() if rule.action is Action.ALARM for r in out.reasons]
        rejects = [r for rule, out in outcomes.values() if rule.action is Action.REJECT for r in out.reasons]
        measurements = tuple(outcomes[name][1].value for name in self.measured)
        return Verdict(code=code, reasons=(*alarms, *rejects), measurements=measurements)


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
