"""The rule kinds: small callables behind one ``Rule`` protocol, built from specs.

A rule looks at a ``PartView`` and returns a ``RuleOutcome``: one measured value
(for the PLC block) and a ``Reason`` for each thing that made it fire.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from inspector.messages import Reason, VerdictCode
from inspector.rules.features import Feature
from inspector.rules.geometry import nearest_distance
from inspector.rules.part import PartView, _crop_window
from inspector.rules.specs import (
    Action,
    AnySpec,
    Condition,
    CountSpec,
    DistanceSpec,
    HistorySpec,
    InstanceSpec,
    PresenceSpec,
    ZoneSpec,
)

_OPS: dict[str, tuple[Callable[[float, float], bool], str]] = {
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


def first_hit(cond: Condition, value: float) -> tuple[str, float] | None:
    """(symbol, limit) of the first comparison that holds; a NaN value always fires (fail safe)."""
    if math.isnan(value):
        return "is not measurable, limit", math.nan
    for op, limit in cond.comparisons().items():
        if limit is not None and _OPS[op][0](value, limit):
            return _OPS[op][1], limit
    return None


def margin(cond: Condition, value: float) -> float:
    """How far ``value`` is from firing (smaller is worse); picks the instance to report."""
    out = math.inf
    for op, limit in cond.comparisons().items():
        if limit is None:
            continue
        if op in ("lt", "le"):
            out = min(out, value - limit)
        elif op in ("gt", "ge"):
            out = min(out, limit - value)
        else:
            out = min(out, abs(value - limit) if op == "eq" else -abs(value - limit))
    return out


@dataclass
class _Base:
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


@dataclass
class InstanceRule(_Base):
    spec: InstanceSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        selected = part.select(frozenset(self.spec.classes), self.spec.min_score)
        conditions = self.spec.conditions()
        reasons = []
        worst, worst_margin = math.nan, math.inf
        for index in selected:
            i = int(index)
            for position, (feature, cond) in enumerate(conditions):
                value = part.feature(i, feature)
                if position == 0 and (m := margin(cond, value)) < worst_margin:
                    worst, worst_margin = value, m
                hit = first_hit(cond, value)
                if hit is not None:
                    label = f"{part.class_name(i)} #{i} {feature.value}"
                    reasons.append(self.reason(label, value, hit, i))
        return RuleOutcome(worst, tuple(reasons))


@dataclass
class PresenceRule(_Base):
    spec: PresenceSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        classes = frozenset(self.spec.classes)
        any_score = part.select(classes, 0.0)
        best = float(part.scores[any_score].max()) if len(any_score) else 0.0
        reasons = []
        for index in part.select(classes, self.spec.min_score):
            i = int(index)
            score = float(part.scores[i])
            label = f"{part.class_name(i)} #{i} present, score"
            reasons.append(self.reason(label, score, (">=", self.spec.min_score), i))
        return RuleOutcome(best, tuple(reasons))


@dataclass
class CountRule(_Base):
    spec: CountSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        selected = [int(i) for i in part.select(frozenset(self.spec.classes), self.spec.min_score)]
        measured: list[tuple[str, Condition | None, Callable[[], float]]] = [
            ("count", self.spec.count, lambda: float(len(selected))),
            ("total_area_px", self.spec.total_area_px, lambda: sum(part.area_px(i) for i in selected)),
            (
                "total_area_mm2",
                self.spec.total_area_mm2,
                lambda: sum(part.feature(i, Feature.AREA_MM2) for i in selected),
            ),
        ]
        reasons = []
        first = math.nan
        classes = "+".join(self.spec.classes)
        for key, cond, measure in measured:
            if cond is None:
                continue
            value = measure()
            first = value if math.isnan(first) else first
            hit = first_hit(cond, value)
            if hit is not None:
                reasons.append(self.reason(f"{classes} {key}", value, hit))
        return RuleOutcome(first, tuple(reasons))


@dataclass
class DistanceRule(_Base):
    spec: DistanceSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        spec = self.spec
        group_a = [int(i) for i in part.select(frozenset(spec.classes), spec.min_score)]
        same = spec.to_classes is None
        group_b = (
            group_a
            if same
            else [int(i) for i in part.select(frozenset(spec.to_classes or ()), spec.min_score)]
        )
        pairs = [(a, b) for a in group_a for b in group_b if (a < b if same else a != b)]
        best, pair = _closest_pair(part, pairs)
        if pair is None:
            return RuleOutcome(math.inf)
        a, b = pair
        cond, key = (
            (spec.distance_px, "distance_px") if spec.distance_px else (spec.distance_mm, "distance_mm")
        )
        if key == "distance_mm":
            best *= (part.local_length_factor(a) + part.local_length_factor(b)) / 2.0
        hit = first_hit(cond, best) if cond is not None else None
        if hit is None:
            return RuleOutcome(best)
        label = f"{part.class_name(a)} #{a} to {part.class_name(b)} #{b} {key}"
        return RuleOutcome(best, (self.reason(label, best, hit, a),))


def _closest_pair(part: PartView, pairs: list[tuple[int, int]]) -> tuple[float, tuple[int, int] | None]:
    """Exact nearest boundary distance over ``pairs``, tracing contours only for pairs whose
    crop windows could still beat the best distance found so far (windows bound the masks)."""
    if not pairs:
        return math.inf, None
    height, width = part.detections.image_shape
    windows = {i: _crop_window(part.boxes[i], part.crop_margin, width, height) for p in pairs for i in p}
    ordered = sorted(pairs, key=lambda p: _window_gap(windows[p[0]], windows[p[1]]))
    best, best_pair = math.inf, None
    for a, b in ordered:
        if _window_gap(windows[a], windows[b]) >= best:
            break
        d = nearest_distance(part.contour(a).points, part.contour(b).points)
        if d < best:
            best, best_pair = d, (a, b)
    return best, best_pair


def _window_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    dx = max(0, b[0] - a[2] + 1, a[0] - b[2] + 1)
    dy = max(0, b[1] - a[3] + 1, a[1] - b[3] + 1)
    return math.hypot(dx, dy)


@dataclass
class ZoneRule(_Base):
    spec: ZoneSpec
    polygon: np.ndarray  # (K, 1, 2) float32

    def __call__(self, part: PartView) -> RuleOutcome:
        spec = self.spec
        selected = [int(i) for i in part.select(frozenset(spec.classes), spec.min_score)]
        inside = {i: cv2.pointPolygonTest(self.polygon, part.centroid(i), False) >= 0 for i in selected}
        if spec.count_inside is not None:
            count = float(sum(inside.values()))
            hit = first_hit(spec.count_inside, count)
            reasons = () if hit is None else (self.reason(f"count inside zone {spec.zone!r}", count, hit),)
            return RuleOutcome(count, reasons)
        want_inside = spec.must_be == "inside"
        wrong = [i for i in selected if inside[i] != want_inside]
        reasons_list = []
        for i in wrong:
            x, y = part.centroid(i)
            where = "outside" if want_inside else "inside"
            message = f"{part.class_name(i)} #{i} at ({x:.1f}, {y:.1f}) is {where} zone {spec.zone!r}"
            reasons_list.append(Reason(rule=self.name, code=self.code, message=message, instance=i))
        return RuleOutcome(float(len(wrong)), tuple(reasons_list))


@dataclass
class HistoryRule(_Base):
    """Counts non-PASS parts per camera over the last ``window`` parts; state lives here."""

    spec: HistorySpec
    _windows: dict[str, deque[bool]] = field(default_factory=dict)

    def __call__(self, part: PartView) -> RuleOutcome:
        if part.interim is None:
            return RuleOutcome(math.nan)
        spec = self.spec
        window = self._windows.setdefault(part.source_id, deque(maxlen=spec.window))
        window.append(part.interim != VerdictCode.PASS)
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


def compile_rule(name: str, spec: AnySpec, zones: dict[str, np.ndarray]) -> Rule:
    """The callable for one spec."""
    code, action = spec.code, spec.action
    if isinstance(spec, InstanceSpec):
        return InstanceRule(name, code, action, spec)
    if isinstance(spec, PresenceSpec):
        return PresenceRule(name, code, action, spec)
    if isinstance(spec, CountSpec):
        return CountRule(name, code, action, spec)
    if isinstance(spec, DistanceSpec):
        return DistanceRule(name, code, action, spec)
    if isinstance(spec, ZoneSpec):
        return ZoneRule(name, code, action, spec, zones[spec.zone])
    return HistoryRule(name, code, action, spec)
