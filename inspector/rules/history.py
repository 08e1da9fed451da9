"""History rules: alarms on the recent verdicts of one camera."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from inspector.messages import Reason, VerdictCode
from inspector.rules.base import RuleBase, RuleOutcome
from inspector.rules.part import PartView
from inspector.rules.specs import HistorySpec


@dataclass
class HistoryRule(RuleBase):
    """Counts non-PASS parts per camera over the last ``window`` parts; state lives here.

    Fail-safe parts count as non-PASS (``VerdictMaker.judge_failsafe``): a camera that keeps
    failing is exactly what an alarm on rejects should catch."""

    spec: HistorySpec
    _windows: dict[str, deque[bool]] = field(default_factory=dict)

    def __call__(self, part: PartView) -> RuleOutcome:
        if part.interim is None:
            return RuleOutcome(math.nan)
        return self.record(part.source_id, part.interim)

    def record(self, source_id: str, code: VerdictCode) -> RuleOutcome:
        """Count one part of camera ``source_id`` with verdict ``code`` so far, and judge the window."""
        spec = self.spec
        window = self._windows.setdefault(source_id, deque(maxlen=spec.window))
        window.append(code != VerdictCode.PASS)
        rejects = float(sum(window))
        if spec.max_rejects is not None:
            value, hit = rejects, (rejects >= spec.max_rejects)
            limit, what = float(spec.max_rejects), f"{int(rejects)} of the last {len(window)} parts not PASS"
        else:
            value = 100.0 * rejects / len(window)
            limit = float(spec.max_reject_rate_pct or 0.0)
            hit = len(window) == spec.window and value > limit
            what = f"reject rate over the last {len(window)} parts {value:.1f} % > {limit:g} %"
        if not hit:
            return RuleOutcome(value)
        if spec.clear_on_alarm:
            window.clear()
        reason = Reason(rule=self.name, code=self.code, message=what, value=value, limit=limit)
        return RuleOutcome(value, (reason,))
