"""Turn one frame's detections into a verdict: part rules, then history rules, in config order.

Verdict: PASS when nothing fires; REJECT when a reject rule fires; ALARM when an
alarm rule fires (ALARM outranks REJECT and a PLC should treat an ALARM part as
not good). Reasons list alarm reasons first, then reject reasons, each in config
order, so ``Verdict.first_code`` is the most severe rule that fired.
``Verdict.measurements`` holds, per rule named in ``rules.measurements`` (default:
every rule in order), that rule's measured value for this part (see README).

``evaluate`` never raises: a part whose rules cannot run gets a fail-safe REJECT
(``FailSafeCause.RULES_ERROR``), never a PASS. Fail-safe parts count as non-PASS in
the history rules (``judge_failsafe`` for those failed safe outside the rules).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from inspector.logging import get_logger
from inspector.messages import Detections, FailSafeCause, Verdict, VerdictCode, failsafe_verdict
from inspector.rules import checks
from inspector.rules.base import Rule, RuleOutcome
from inspector.rules.config import RulesConfig
from inspector.rules.history import HistoryRule
from inspector.rules.kinds import compile_rule
from inspector.rules.part import PartView
from inspector.rules.specs import Action

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

    def check_names(self, names: Sequence[str], kept: Collection[int] | None = None) -> None:
        """Raise ConfigError naming each rule and key that names a class the model lacks, or one
        the engine's class filter ``kept`` (ids; None = all) drops."""
        checks.check_names(self.config, names, kept)

    def check_sources(self, source_ids: Iterable[str]) -> None:
        """Raise ConfigError when a rule or calibration names an unknown source, or a mm rule
        judges a camera without a scale (``inspector.rules.checks.check_sources``)."""
        checks.check_sources(self.config, source_ids)

    def evaluate(self, detections: Detections, source_id: str) -> Verdict:
        """The verdict for one part (one frame's detections from camera ``source_id``)."""
        with self._lock:
            try:
                verdict = self._evaluate(detections, source_id)
            except Exception as exc:  # a part we cannot judge is failed safe, never passed
                log.error("rules_failed", source_id=source_id, error=f"{type(exc).__name__}: {exc}")
                failed = failsafe_verdict(FailSafeCause.RULES_ERROR, f"rules failed: {exc}")
                verdict = self._with_history(failed, source_id)
                self._counts["error"] += 1
            self._counts[verdict.code.name.lower()] += 1
            return verdict

    def judge_failsafe(self, verdict: Verdict, source_id: str) -> Verdict:
        """Count a part failed safe outside the rules (engine error, dropped frame, lost camera)
        in the history rules, which may raise it to ALARM; parts failed safe at shutdown are
        not counted. The fail-safe reason stays first (the PLC reads its 9xx code)."""
        with self._lock:  # not in stats(): those count the parts the rules judged
            return self._with_history(verdict, source_id)

    def _with_history(self, verdict: Verdict, source_id: str) -> Verdict:
        """``verdict`` (a fail-safe one) after the history rules counted it."""
        if verdict.first_code == FailSafeCause.SHUTDOWN:
            return verdict  # stopping the line is not a fault of the line
        fired: list[tuple[Rule, RuleOutcome]] = []
        for rule in self.history_rules:
            sources = self._sources[rule.name]
            if isinstance(rule, HistoryRule) and (sources is None or source_id in sources):
                outcome = rule.record(source_id, verdict.code)
                if outcome.reasons:
                    fired.append((rule, outcome))
        if not fired:
            return verdict
        code = VerdictCode.ALARM if _code_of(fired) is VerdictCode.ALARM else verdict.code
        extra = tuple(reason for _, outcome in fired for reason in outcome.reasons)
        return Verdict(code, (*verdict.reasons, *extra), verdict.measurements, failsafe=True)

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
