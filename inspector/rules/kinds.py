"""The part rule kinds (instance, presence, count, distance, zone), and ``compile_rule``.

Each is a small callable behind the ``Rule`` protocol (``inspector.rules.base``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.messages import Reason
from inspector.rules.base import (
    Check,
    Rule,
    RuleBase,
    RuleOutcome,
    compile_condition,
    fires,
    first_hit,
    margins,
)
from inspector.rules.features import Feature
from inspector.rules.geometry import nearest_distance
from inspector.rules.history import HistoryRule
from inspector.rules.part import FEATURE_GETTERS, PartView
from inspector.rules.share import AreaShareRule
from inspector.rules.specs import (
    AnySpec,
    AreaShareSpec,
    Condition,
    CountSpec,
    DistanceSpec,
    InstanceSpec,
    PresenceSpec,
    ZoneSpec,
)


@dataclass
class InstanceRule(RuleBase):
    spec: InstanceSpec
    checks: tuple[tuple[Feature, Check], ...] = ()

    def __post_init__(self) -> None:
        self.checks = tuple((f, compile_condition(c)) for f, c in self.spec.conditions())
        self.classes = frozenset(self.spec.classes)

    def __call__(self, part: PartView) -> RuleOutcome:
        selected = [int(i) for i in part.select(self.classes, self.spec.min_score, self.spec.in_zone)]
        if not selected:
            return RuleOutcome(math.nan)
        found: list[tuple[int, int, Reason]] = []
        worst = math.nan
        for position, (feature, check) in enumerate(self.checks):
            measure = FEATURE_GETTERS[feature]
            values = np.array([measure(part, i) for i in selected], dtype=np.float64)
            if position == 0:
                worst = float(values[np.argmin(margins(check, values))])  # NaN first: never hidden
            for k in np.flatnonzero(fires(check, values)):
                i, value = selected[k], float(values[k])
                hit = first_hit(check, value)
                if hit is not None:
                    label = f"{part.class_name(i)} #{i} {feature.value}"
                    found.append((i, position, self.reason(label, value, hit, i)))
        found.sort(key=lambda item: item[:2])  # by instance, then feature
        return RuleOutcome(worst, tuple(reason for _, _, reason in found))


@dataclass
class PresenceRule(RuleBase):
    spec: PresenceSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        classes = frozenset(self.spec.classes)
        any_score = part.select(classes, 0.0, self.spec.in_zone)
        best = float(part.scores[any_score].max()) if len(any_score) else 0.0
        reasons = []
        for index in part.select(classes, self.spec.min_score, self.spec.in_zone):
            i = int(index)
            score = float(part.scores[i])
            label = f"{part.class_name(i)} #{i} present, score"
            reasons.append(self.reason(label, score, (">=", self.spec.min_score), i))
        return RuleOutcome(best, tuple(reasons))


@dataclass
class CountRule(RuleBase):
    spec: CountSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        selected = [
            int(i) for i in part.select(frozenset(self.spec.classes), self.spec.min_score, self.spec.in_zone)
        ]
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
            hit = first_hit(compile_condition(cond), value)
            if hit is not None:
                reasons.append(self.reason(f"{classes} {key}", value, hit))
        return RuleOutcome(first, tuple(reasons))


@dataclass
class DistanceRule(RuleBase):
    spec: DistanceSpec

    def __call__(self, part: PartView) -> RuleOutcome:
        spec = self.spec
        group_a = part.select(frozenset(spec.classes), spec.min_score, spec.in_zone)
        if spec.to_classes is None:
            first, second = np.triu_indices(len(group_a), k=1)
            pairs = np.stack([group_a[first], group_a[second]], axis=1)
        else:
            group_b = part.select(frozenset(spec.to_classes), spec.min_score, spec.in_zone)
            grid = np.stack(np.meshgrid(group_a, group_b, indexing="ij"), axis=-1).reshape(-1, 2)
            pairs = grid[grid[:, 0] != grid[:, 1]]
        best, pair = _closest_pair(part, pairs)
        if pair is None:
            return RuleOutcome(math.inf)
        a, b = pair
        cond, key = (
            (spec.distance_px, "distance_px")
            if spec.distance_px is not None
            else (spec.distance_mm, "distance_mm")
        )
        if key == "distance_mm":
            best *= (part.local_length_factor(a) + part.local_length_factor(b)) / 2.0
        hit = first_hit(compile_condition(cond), best) if cond is not None else None
        if hit is None:
            return RuleOutcome(best)
        label = f"{part.class_name(a)} #{a} to {part.class_name(b)} #{b} {key}"
        return RuleOutcome(best, (self.reason(label, best, hit, a),))


def _closest_pair(part: PartView, pairs: np.ndarray) -> tuple[float, tuple[int, int] | None]:
    """Exact nearest distance over ``pairs`` (P, 2): 0 when two masks share a pixel (one inside
    or across the other), else between boundary pixel centres (1 for masks that touch). Traces
    boundaries only for pairs whose crop windows could still beat the best distance so far."""
    if len(pairs) == 0:
        return math.inf, None
    wa, wb = part.windows[pairs[:, 0]], part.windows[pairs[:, 1]]
    # Gap between windows [x0, x1) in pixel centres: a lower bound of the boundary distance.
    dx = np.maximum(0, np.maximum(wb[:, 0] - wa[:, 2] + 1, wa[:, 0] - wb[:, 2] + 1))
    dy = np.maximum(0, np.maximum(wb[:, 1] - wa[:, 3] + 1, wa[:, 1] - wb[:, 3] + 1))
    gaps = np.hypot(dx, dy)
    best, best_pair = math.inf, None
    for k in np.argsort(gaps, kind="stable"):
        if gaps[k] >= best:
            break
        a, b = int(pairs[k, 0]), int(pairs[k, 1])
        shape_a, shape_b = part.shape(a), part.shape(b)
        if gaps[k] > 0:  # apart: outer boundaries face each other, holes cannot be nearer
            d = nearest_distance(shape_a.outer_points, shape_b.outer_points)
        elif part.overlaps(a, b):
            return 0.0, (a, b)  # nothing is closer; boundaries alone would miss containment
        else:  # one may lie in the other's hole
            d = nearest_distance(shape_a.boundary_points, shape_b.boundary_points)
        if d < best:
            best, best_pair = d, (a, b)
    return best, best_pair


@dataclass
class ZoneRule(RuleBase):
    spec: ZoneSpec
    polygon: np.ndarray  # (K, 1, 2) float32

    def __call__(self, part: PartView) -> RuleOutcome:
        spec = self.spec
        selected = [int(i) for i in part.select(frozenset(spec.classes), spec.min_score)]
        if spec.count_inside is not None:
            count = float(
                sum(cv2.pointPolygonTest(self.polygon, part.centroid(i), False) >= 0 for i in selected)
            )
            hit = first_hit(compile_condition(spec.count_inside), count)
            reasons = () if hit is None else (self.reason(f"count inside zone {spec.zone!r}", count, hit),)
            return RuleOutcome(count, reasons)
        want_inside = spec.must_be == "inside"
        reasons_list = []
        for i in selected:
            # Signed distance of the centroid to the zone's edge: > 0 inside, < 0 outside, 0 on it.
            depth = float(cv2.pointPolygonTest(self.polygon, part.centroid(i), True))
            if (depth >= 0) == want_inside:
                continue
            x, y = part.centroid(i)
            where = "outside" if want_inside else "inside"
            message = (
                f"{part.class_name(i)} #{i} at ({x:.1f}, {y:.1f}) is {where} zone {spec.zone!r}, "
                f"{abs(depth):.1f} px from its edge (signed distance {depth:.4g}, limit 0)"
            )
            reason = Reason(
                rule=self.name, code=self.code, message=message, instance=i, value=depth, limit=0.0
            )
            reasons_list.append(reason)
        return RuleOutcome(float(len(reasons_list)), tuple(reasons_list))


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
    if isinstance(spec, AreaShareSpec):
        return AreaShareRule(name, code, action, spec, zones.get(spec.roi) if spec.roi else None)
    return HistoryRule(name, code, action, spec)
