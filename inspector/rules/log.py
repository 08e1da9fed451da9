"""Verdicts as plain JSON-safe data for the ``inspection`` log event."""

from __future__ import annotations

import math
from typing import Any

from inspector.messages import Reason, Verdict

MAX_LOGGED_REASONS = 10


def _num(value: float | None) -> float | None:
    """JSON has no NaN/inf: not-measured values log as null."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def reason_to_log(reason: Reason) -> dict[str, Any]:
    return {
        "rule": reason.rule,
        "code": reason.code,
        "instance": reason.instance,
        "value": _num(reason.value),
        "limit": _num(reason.limit),
        "message": reason.message,
    }


def to_log(verdict: Verdict | None, max_reasons: int = MAX_LOGGED_REASONS) -> dict[str, Any]:
    """A dict for a structlog event: ``log.info("inspection", **to_log(msg.verdict), ...)``.

    Keys: verdict (PASS/REJECT/ALARM/NONE), verdict_code, failsafe (also true for a part
    without a verdict: it was not inspected), rule and rule_code (the first reason's, flat
    because Loki's json parser skips arrays; null and 0 when nothing fired), reasons (at
    most ``max_reasons``, each with rule, code, instance, value, limit, message),
    reasons_total, measurements (``rules.measurements`` order, null where not measured).
    """
    if verdict is None:
        return {
            "verdict": "NONE",
            "verdict_code": 0,
            "failsafe": True,
            "rule": None,
            "rule_code": 0,
            "reasons": [],
            "reasons_total": 0,
            "measurements": [],
        }
    return {
        "verdict": verdict.code.name,
        "verdict_code": int(verdict.code),
        "failsafe": verdict.failsafe,
        "rule": verdict.reasons[0].rule if verdict.reasons else None,
        "rule_code": verdict.first_code,
        "reasons": [reason_to_log(r) for r in verdict.reasons[:max_reasons]],
        "reasons_total": len(verdict.reasons),
        "measurements": [_num(v) for v in verdict.measurements],
    }
