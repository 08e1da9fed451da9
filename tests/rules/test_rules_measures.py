"""What rules measure and report (distances, zone depths, total areas), and what they leave unmeasured."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.rules import RulesConfig, build_verdicts
from inspector.rules.part import PartView
from tests.support.masks import detections, disk, ring

SHAPE = (200, 300)
GOOD, EXCESS = 0, 3
LEFT = {"left": {"polygon": [[0, 0], [120, 0], [120, 200], [0, 200]]}}
JOINTS = [disk(SHAPE, (40, 40), 12), disk(SHAPE, (40, 100), 12), disk(SHAPE, (200, 100), 12)]


def maker(rules: dict[str, Any]) -> Any:
    return build_verdicts(RulesConfig(calibration={"px_per_mm": 4.0}, zones=LEFT, rules=rules))


def near(limit: float) -> dict[str, Any]:
    return {
        "near": {
            "kind": "distance",
            "code": 1,
            "classes": ["good_joint"],
            "to_classes": ["excess_solder"],
            "distance_px": {"lt": limit},
        }
    }


def test_contained_instance_is_at_distance_zero() -> None:
    verdict = maker(near(2)).evaluate(
        detections([disk(SHAPE, (40, 40), 12), disk(SHAPE, (40, 40), 3)], [GOOD, EXCESS]), "cam0"
    )
    (reason,) = verdict.reasons
    assert verdict.measurements == (0.0,)
    assert (reason.value, reason.limit, reason.instance) == (0.0, 2.0, 0)


def test_instance_in_a_hole_is_measured_to_the_hole_edge() -> None:
    """Between a ring (hole radius 10) and a disk r3 at its centre: ~7 px, not ~17 to the outer edge."""
    part = detections([ring(SHAPE, (100, 100), 20, 10), disk(SHAPE, (100, 100), 3)], [GOOD, EXCESS])
    verdict = maker(near(8)).evaluate(part, "cam0")
    assert verdict.measurements[0] == pytest.approx(7.0, abs=0.5)
    assert [r.code for r in verdict.reasons] == [1]


def test_total_area_mm2_sums_the_instances() -> None:
    rules = {"mm2": {"kind": "count", "code": 1, "classes": ["good_joint"], "total_area_mm2": {"gt": 1e6}}}
    verdict = maker(rules).evaluate(detections(JOINTS), "cam0")
    assert verdict.measurements[0] == pytest.approx(sum(float(m.sum()) for m in JOINTS) / 16.0)


@pytest.mark.parametrize(
    ("must_be", "wrong", "depths"),
    [("inside", [2], [-80.0]), ("outside", [0, 1], [40.0, 40.0])],
)
def test_zone_reason_gives_the_signed_distance_to_the_edge(
    must_be: str, wrong: list[int], depths: list[float]
) -> None:
    """Value: the centroid's signed distance to the zone's edge (> 0 inside); limit: 0."""
    rules = {"z": {"kind": "zone", "code": 1, "zone": "left", "classes": ["good_joint"], "must_be": must_be}}
    verdict = maker(rules).evaluate(detections(JOINTS), "cam0")
    assert [r.instance for r in verdict.reasons] == wrong
    assert [r.value for r in verdict.reasons] == pytest.approx(depths)
    assert all(r.limit == 0.0 for r in verdict.reasons)
    assert "px from its edge" in verdict.reasons[0].message


LAZY_CASES = [
    ("presence", {"kind": "presence", "classes": ["excess_solder"]}, set()),
    ("count only", {"kind": "count", "classes": ["good_joint"], "count": {"ne": 3}}, set()),
    (
        "area_px only",
        {"kind": "instance", "classes": ["good_joint"], "area_px": {"lt": 10}},
        {"area", "crop"},
    ),
    (
        "total_area_mm2",
        {"kind": "count", "classes": ["good_joint"], "total_area_mm2": {"gt": 1e6}},
        {"area", "crop"},
    ),
    (
        "zone",
        {"kind": "zone", "zone": "left", "classes": ["good_joint"], "must_be": "inside"},
        {"centroid", "crop"},
    ),
    (
        "circularity",
        {"kind": "instance", "classes": ["good_joint"], "circularity": {"lt": 0.5}},
        {"crop", "shape", "contours"},
    ),
]


def part_for(verdicts: Any, masks: list[Any]) -> PartView:
    """The view a rule sees, built as ``VerdictMaker.evaluate`` builds it."""
    scale = verdicts.config.calibration.scale_for("cam0")
    return PartView(detections(masks), "cam0", scale, zones=verdicts.zones)


@pytest.mark.parametrize(("what", "spec", "expected"), LAZY_CASES, ids=[c[0] for c in LAZY_CASES])
def test_only_referenced_features_are_computed(what: str, spec: dict[str, Any], expected: set[str]) -> None:
    verdicts = maker({"r": {**spec, "code": 1}})
    part = part_for(verdicts, JOINTS)
    (rule,) = verdicts.part_rules
    rule(part)
    assert part.measured() == expected, what


def test_far_instances_are_never_traced_for_distance() -> None:
    """A distance rule traces boundaries only of pairs whose boxes could beat the best distance."""
    masks = [disk(SHAPE, (40, 40), 12), disk(SHAPE, (70, 40), 12), disk(SHAPE, (250, 150), 12)]
    verdicts = maker(
        {"gap": {"kind": "distance", "code": 1, "classes": ["good_joint"], "distance_px": {"lt": 2}}}
    )
    part = part_for(verdicts, masks)
    (rule,) = verdicts.part_rules
    assert rule(part).value == pytest.approx(6.0)
    assert [part.shape(i).traced for i in range(3)] == [True, True, False]
