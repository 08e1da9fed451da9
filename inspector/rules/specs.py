"""Declarative rule specifications: what a line engineer writes under ``rules.rules``.

Every rule fires when its condition holds ("reject when area_mm2 < 0.35"). A
``Condition`` lists comparisons; the rule fires when ANY of them holds, so
``{lt: 0.3, gt: 0.5}`` fires outside [0.3, 0.5]. Nothing is ``eval``-ed: each
kind is a model with named fields, validated when the config loads.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import Field, FiniteFloat, model_validator
from pydantic_core import PydanticCustomError

from inspector.rules.features import Feature
from inspector.section import Section


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose message reads as written (no "Value error, " prefix)."""
    return PydanticCustomError("invalid_rule", "{message}", {"message": message})


ClassList = Annotated[list[str], Field(min_length=1)]


class Action(str, Enum):
    """What a firing rule does to the part's verdict."""

    REJECT = "reject"
    ALARM = "alarm"


class Condition(Section):
    """Comparisons against a measured value; the rule fires when ANY given comparison holds.

    Limits must be finite: ``lt: .nan`` would make a rule that can never fire.
    """

    lt: FiniteFloat | None = Field(None, description="Fire when value < lt.")
    le: FiniteFloat | None = Field(None, description="Fire when value <= le.")
    gt: FiniteFloat | None = Field(None, description="Fire when value > gt.")
    ge: FiniteFloat | None = Field(None, description="Fire when value >= ge.")
    eq: FiniteFloat | None = Field(None, description="Fire when value == eq (meant for counts).")
    ne: FiniteFloat | None = Field(None, description="Fire when value != ne (meant for counts).")

    @model_validator(mode="after")
    def _one_comparison_at_least(self) -> Condition:
        if all(v is None for v in self.comparisons().values()):
            raise invalid("give at least one of lt, le, gt, ge, eq, ne")
        return self

    def comparisons(self) -> dict[str, float | None]:
        return {"lt": self.lt, "le": self.le, "gt": self.gt, "ge": self.ge, "eq": self.eq, "ne": self.ne}


class RuleSpec(Section):
    """Fields every rule kind shares."""

    code: int = Field(
        ge=1, le=899, description="Stable rule code sent to the PLC (1..899; 900+ are fail-safe causes)."
    )
    action: Action = Field(Action.REJECT, description="Verdict when the rule fires: reject or alarm.")
    note: str = Field("", max_length=200, description="Free text for people; shown in reasons.")
    sources: list[str] | None = Field(
        None, min_length=1, description="Source ids (cameras) this rule judges; omitted: every source."
    )


class SelectingSpec(RuleSpec):
    """A rule over the instances of some classes above a score."""

    classes: ClassList = Field(description="Class names whose instances this rule looks at.")
    min_score: FiniteFloat = Field(0.0, ge=0.0, le=1.0, description="Ignore instances scoring below this.")
    in_zone: str | None = Field(
        None, description="Only instances whose centroid is inside this zone (rules.zones); omitted: all."
    )


class InstanceSpec(SelectingSpec):
    """Fire for each selected instance whose feature meets its condition."""

    kind: Literal["instance"] = Field(description="Rule kind: per-instance feature limits.")
    area_px: Condition | None = Field(None, description="Mask area in pixels.")
    area_mm2: Condition | None = Field(None, description="Mask area in mm² (needs calibration).")
    perimeter_px: Condition | None = Field(None, description="Outer boundary length in pixels.")
    perimeter_mm: Condition | None = Field(None, description="Outer boundary length in mm.")
    circularity: Condition | None = Field(None, description="4πA/P² (1 for a disk).")
    bbox_w_px: Condition | None = Field(None, description="Axis-aligned box width of the mask, px.")
    bbox_h_px: Condition | None = Field(None, description="Axis-aligned box height of the mask, px.")
    bbox_w_mm: Condition | None = Field(None, description="Axis-aligned box width of the mask, mm.")
    bbox_h_mm: Condition | None = Field(None, description="Axis-aligned box height of the mask, mm.")
    rect_w_px: Condition | None = Field(None, description="Minimum-area rectangle long side, px.")
    rect_h_px: Condition | None = Field(None, description="Minimum-area rectangle short side, px.")
    rect_w_mm: Condition | None = Field(None, description="Minimum-area rectangle long side, mm.")
    rect_h_mm: Condition | None = Field(None, description="Minimum-area rectangle short side, mm.")
    rect_angle_deg: Condition | None = Field(
        None, description="Long side angle from +x toward +y (image down), degrees in [0, 180)."
    )
    aspect_ratio: Condition | None = Field(None, description="Minimum-area rectangle long/short (>= 1).")
    centroid_x_px: Condition | None = Field(None, description="Centroid x, px.")
    centroid_y_px: Condition | None = Field(None, description="Centroid y, px.")
    centroid_x_mm: Condition | None = Field(None, description="Centroid x on the calibrated plane, mm.")
    centroid_y_mm: Condition | None = Field(None, description="Centroid y on the calibrated plane, mm.")
    solidity: Condition | None = Field(None, description="Area / convex hull area (1 when convex).")
    holes: Condition | None = Field(None, description="Number of holes in the mask.")
    equivalent_diameter_px: Condition | None = Field(
        None, description="Diameter of a disk of equal area, px."
    )
    equivalent_diameter_mm: Condition | None = Field(
        None, description="Diameter of a disk of equal area, mm."
    )
    score: Condition | None = Field(None, description="Detection score.")

    @model_validator(mode="after")
    def _one_feature_at_least(self) -> InstanceSpec:
        if not self.conditions():
            raise invalid("give at least one feature condition, e.g. area_mm2: {lt: 0.35}")
        return self

    def conditions(self) -> tuple[tuple[Feature, Condition], ...]:
        """(feature, condition) pairs in feature order."""
        out = []
        for feature in Feature:
            cond = getattr(self, feature.value)
            if cond is not None:
                out.append((feature, cond))
        return tuple(out)


class PresenceSpec(SelectingSpec):
    """Fire for each instance of the classes scoring at least ``min_score``."""

    kind: Literal["presence"] = Field(description="Rule kind: any such instance present.")
    min_score: FiniteFloat = Field(0.5, ge=0.0, le=1.0, description="Score from which an instance counts.")


class CountSpec(SelectingSpec):
    """Fire when the number (or total area) of selected instances meets a condition."""

    kind: Literal["count"] = Field(description="Rule kind: count / total area of the classes.")
    count: Condition | None = Field(None, description="Number of selected instances.")
    total_area_px: Condition | None = Field(None, description="Summed mask area of the instances, px.")
    total_area_mm2: Condition | None = Field(None, description="Summed mask area of the instances, mm².")

    @model_validator(mode="after")
    def _one_condition_at_least(self) -> CountSpec:
        if self.count is None and self.total_area_px is None and self.total_area_mm2 is None:
            raise invalid("give at least one of count, total_area_px, total_area_mm2")
        return self


class DistanceSpec(SelectingSpec):
    """Fire when two instances come closer than a limit (nearest boundary pixels)."""

    kind: Literal["distance"] = Field(description="Rule kind: minimum distance between instances.")
    to_classes: list[str] | None = Field(
        None, description="Measure from `classes` to these; omitted: between instances of `classes`."
    )
    distance_px: Condition | None = Field(None, description="Minimum boundary distance, px.")
    distance_mm: Condition | None = Field(None, description="Minimum boundary distance, mm.")

    @model_validator(mode="after")
    def _one_condition_exactly(self) -> DistanceSpec:
        if (self.distance_px is None) == (self.distance_mm is None):
            raise invalid("give exactly one of distance_px, distance_mm")
        if self.to_classes is not None and not self.to_classes:
            raise invalid("to_classes must name at least one class when given")
        return self


class ZoneSpec(SelectingSpec):
    """Instances (by centroid) against a polygon zone: where they must be, or how many inside."""

    kind: Literal["zone"] = Field(description="Rule kind: instances inside/outside a polygon zone.")
    zone: str = Field(description="Name of a zone under rules.zones.")
    must_be: Literal["inside", "outside"] | None = Field(
        None, description="Fire for each instance whose centroid is not inside/outside the zone."
    )
    count_inside: Condition | None = Field(None, description="Number of instances inside the zone.")

    @model_validator(mode="after")
    def _one_test_exactly(self) -> ZoneSpec:
        if (self.must_be is None) == (self.count_inside is None):
            raise invalid("give exactly one of must_be, count_inside")
        if self.in_zone is not None:
            raise invalid("a zone rule names its zone under `zone`, not `in_zone`")
        return self


class AreaShareSpec(SelectingSpec):
    """Fire when the classes' masks cover a share of a region that meets a condition: how
    semantic defects (scratches, stains, voids from a SegFormer) are judged, by area rather than
    one instance at a time."""

    kind: Literal["area_share"] = Field(description="Rule kind: the classes' share of a region's area.")
    share_pct: Condition = Field(
        description="Percentage (0-100) of the region's pixels that the classes' masks cover "
        "(overlaps count once)."
    )
    roi: str | None = Field(
        None, description="Zone (rules.zones) that is the region; omitted: roi_classes, else the whole frame."
    )
    roi_classes: list[str] | None = Field(
        None,
        min_length=1,
        description="Classes whose masks together are the region (the part, or a DETR stuff region); a part "
        "where none is found cannot be measured and fires (fail safe).",
    )

    @model_validator(mode="after")
    def _one_region_at_most(self) -> AreaShareSpec:
        if self.roi is not None and self.roi_classes is not None:
            raise invalid("give at most one of roi, roi_classes")
        if self.in_zone is not None:
            raise invalid("an area_share rule names its region under `roi`, not `in_zone`")
        return self


class HistorySpec(RuleSpec):
    """Alarm on the recent history of one camera's verdicts (rejects among the last parts)."""

    kind: Literal["history"] = Field(description="Rule kind: rejects over the last parts.")
    action: Action = Field(Action.ALARM, description="Verdict when the rule fires (default alarm).")
    window: int = Field(ge=1, le=100_000, description="Number of most recent parts looked at.")
    max_rejects: int | None = Field(
        None, ge=1, description="Fire when at least this many of the last `window` parts were not PASS."
    )
    max_reject_rate_pct: FiniteFloat | None = Field(
        None,
        ge=0.0,
        lt=100.0,
        description="Fire when the share of non-PASS parts in a full window exceeds this percentage.",
    )
    clear_on_alarm: bool = Field(
        True, description="Forget the window after firing, so one incident raises one alarm."
    )

    @model_validator(mode="after")
    def _one_limit_exactly(self) -> HistorySpec:
        if (self.max_rejects is None) == (self.max_reject_rate_pct is None):
            raise invalid("give exactly one of max_rejects, max_reject_rate_pct")
        if self.max_rejects is not None and self.max_rejects > self.window:
            raise invalid(f"max_rejects ({self.max_rejects}) cannot exceed window ({self.window})")
        return self


AnySpec = Annotated[
    InstanceSpec | PresenceSpec | CountSpec | DistanceSpec | ZoneSpec | AreaShareSpec | HistorySpec,
    Field(discriminator="kind"),
]


def referenced_features(spec: AnySpec) -> frozenset[Feature]:
    """Instance features a rule needs measured."""
    if isinstance(spec, InstanceSpec):
        return frozenset(feature for feature, _ in spec.conditions())
    if isinstance(spec, CountSpec):
        wanted = {Feature.AREA_PX} if spec.total_area_px else set()
        return frozenset(wanted | ({Feature.AREA_MM2} if spec.total_area_mm2 else set()))
    if isinstance(spec, ZoneSpec):
        return frozenset({Feature.CENTROID_X_PX, Feature.CENTROID_Y_PX})
    return frozenset()


def uses_mm(spec: AnySpec) -> str | None:
    """The key of a rule that needs a mm calibration, or None."""
    if isinstance(spec, DistanceSpec) and spec.distance_mm is not None:
        return "distance_mm"
    for feature in sorted(referenced_features(spec), key=lambda f: f.value):
        if feature.value.endswith(("_mm", "_mm2")):
            return feature.value
    return None
