"""The ``Rule`` protocol every rule kind implements, and condition checking.

A rule looks at a ``PartView`` and returns a ``RuleOutcome``: one measured value
(for the PLC block) and a ``Reason`` for each thing that made it fire.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from inspector.messages import Reason
from inspector.rules.part import PartView
from inspector.rules.specs import Action, Condition

_OPS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "lt": (operator.lt, "<"),
    "le": (operator.le, "<="),
    "gt": (operator.gt, ">"),
    "ge": (operator.ge, ">="),
    "eq": (operator.eq, "=="),
    "ne": (operator.ne, "!="),
}


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule found on one part."""

    value: float  # the rule's measured value (NaN: nothing to measure)
    reasons: tuple[Reason, ...] = ()


class Rule(Protocol):
    """A compiled rule: its identity and a callable that judges one part."""

    name: str
    code: int
    action: Action

    def __call__(self, part: PartView) -> RuleOutcome: ...


Check = tuple[tuple[str, Callable[[Any, Any], Any], str, float], ...]  # works on floats and arrays


def compile_condition(cond: Condition) -> Check:
    """The condition's comparisons as (op, function, symbol, limit), in a fixed order."""
    return tuple(
        (op, _OPS[op][0], _OPS[op][1], limit) for op, limit in cond.comparisons().items() if limit is not None
    )


def first_hit(check: Check, value: float) -> tuple[str, float] | None:
    """(symbol, limit) of the first comparison that holds; a NaN value always fires (fail safe)."""
    if value != value:  # NaN
        return "is not measurable, limit", math.nan
    for _, compare, symbol, limit in check:
        if compare(value, limit):
            return symbol, limit
    return None


def fires(check: Check, values: np.ndarray) -> np.ndarray:
    """Element-wise: does any comparison hold (NaN always fires)?"""
    out = np.isnan(values)
    for _, compare, _, limit in check:
        out |= compare(values, limit)
    return out


def margins(check: Check, values: np.ndarray) -> np.ndarray:
    """How far each value is from firing (smaller is worse; NaN stays NaN); picks the
    instance whose value the PLC block gets."""
    out = np.full(values.shape, np.inf)
    for op, _, _, limit in check:
        if op in ("lt", "le"):
            out = np.minimum(out, values - limit)
        elif op in ("gt", "ge"):
            out = np.minimum(out, limit - values)
        elif op == "eq":
            out = np.minimum(out, np.abs(values - limit))
        else:
            out = np.minimum(out, -np.abs(values - limit))
    return out


@dataclass
class RuleBase:
    """Identity shared by the rule kinds, and the usual way to word a reason."""

    name: str
    code: int
    action: Action

    def reason(self, what: str, value: float, hit: tuple[str, float], instance: int | None = None) -> Reason:
        symbol, limit = hit
        return Reason(
            rule=self.name,
            code=self.code,
            message=f"{what} {value:.4g} {symbol} {limit:.4g}",
            instance=instance,
            value=value,
            limit=limit,
        )
