"""Verdicts from synthetic parts: a table of (rules, instances) → (verdict, rule codes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from inspector.messages import Detections, FailSafeCause, VerdictCode
from inspector.rules import RulesConfig, build_verdicts, to_log
from tests.support.masks import detections, disk, rectangle

SHAPE = (200, 300)
PASS, REJECT, ALARM = VerdictCode.PASS, VerdictCode.REJECT, VerdictCode.ALARM
GOOD, BRIDGE, INSUFF, EXCESS, MISSING = range(5)

# The demo rule: any defect class with score >= 0.5 rejects the board.
DEMO = {
    "defect": {
        "kind": "presence",
        "code": 1,
        "classes": ["solder_bridge", "insufficient_solder", "excess_solder", "missing_joint"],
        "min_score": 0.5,
    }
}
SIZES = {
    "joint_small": {"kind": "instance", "code": 2, "classes": ["good_joint"], "area_mm2": {"lt": 15.0}},
    "joint_round": {"kind": "instance", "code": 3, "classes": ["good_joint"], "circularity": {"lt": 0.9}},
}
COUNT = {
    "joint_count": {
        "kind": "count",
        "code": 4,
        "classes": ["good_joint"],
        "min_score": 0.3,
        "count": {"ne": 3},
    }
}
AREA = {"joint_area": {"kind": "count", "code": 9, "classes": ["good_joint"], "total_area_px": {"gt": 1000}}}
GAP = {"joint_gap": {"kind": "distance", "code": 5, "classes": ["good_joint"], "distance_px": {"lt": 6}}}
GAP_TO = {
    "bridge_near": {
        "kind": "distance",
        "code": 8,
        "classes": ["good_joint"],
        "to_classes": ["excess_solder"],
        "distance_mm": {"le": 0.5},
    }
}
ZONE = {
    "in_left": {"kind": "zone", "code": 6, "zone": "left", "classes": ["good_joint"], "must_be": "inside"}
}
ZONE_COUNT = {
    "two_left": {
        "kind": "zone",
        "code": 7,
        "zone": "left",
        "classes": ["good_joint"],
        "count_inside": {"ne": 2},
    }
}
WINDOW = {
    "area_window": {
        "kind": "instance",
        "code": 11,
        "classes": ["good_joint"],
        "area_px": {"lt": 300, "gt": 1000},
    }
}
COUNT_LEFT = {
    "left_count": {
        "kind": "count",
        "code": 12,
        "classes": ["good_joint"],
        "in_zone": "left",
        "count": {"ne": 2},
    }
}
DEFECT_NEAR = {
    "defect_near": {
        "kind": "distance",
        "code": 13,
        "classes": ["good_joint"],
        "to_classes": ["excess_solder"],
        "distance_px": {"lt": 2},
    }
}
TOTAL_MM2 = {
    "joint_mm2": {"kind": "count", "code": 15, "classes": ["good_joint"], "total_area_mm2": {"gt": 60.0}}
}
NOT_LEFT = {
    "not_left": {"kind": "zone", "code": 14, "zone": "left", "classes": ["good_joint"], "must_be": "outside"}
}
ALARM_ON_MISSING = {
    "missing": {"kind": "presence", "code": 10, "classes": ["missing_joint"], "action": "alarm"}
}


@dataclass(frozen=True)
class Case:
    name: str
    rules: dict[str, Any]
    instances: list[tuple[int, float, tuple[int, int], int]]  # class, score, centre, radius
    verdict: VerdictCode
    codes: tuple[int, ...] = ()


THREE_JOINTS = [(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (40, 100), 12), (GOOD, 0.9, (200, 100), 12)]

CASES = [
    Case("empty board, demo rule", DEMO, [], PASS),
    Case("good joints only", DEMO, THREE_JOINTS, PASS),
    Case("bridge at 0.6", DEMO, [*THREE_JOINTS, (BRIDGE, 0.6, (100, 40), 6)], REJECT, (1,)),
    Case("bridge at 0.49 ignored", DEMO, [(BRIDGE, 0.49, (100, 40), 6)], PASS),
    Case(
        "two defects, two reasons",
        DEMO,
        [(INSUFF, 0.7, (100, 40), 6), (MISSING, 0.5, (200, 40), 6)],
        REJECT,
        (1, 1),
    ),
    Case("small joint", SIZES, [(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (100, 40), 8)], REJECT, (2,)),
    Case("joints big and round", SIZES, THREE_JOINTS, PASS),
    Case(
        "condition fires outside [lt, gt]",
        WINDOW,
        [(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (100, 40), 8), (GOOD, 0.9, (200, 100), 20)],
        REJECT,
        (11, 11),
    ),
    Case("count ok", COUNT, THREE_JOINTS, PASS),
    Case("count short", COUNT, THREE_JOINTS[:2], REJECT, (4,)),
    Case("count ignores low scores", COUNT, [*THREE_JOINTS[:2], (GOOD, 0.0, (150, 150), 5)], REJECT, (4,)),
    Case("total area", AREA, THREE_JOINTS, REJECT, (9,)),
    Case("joints apart", GAP, THREE_JOINTS, PASS),
    Case("joints touching", GAP, [(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (40, 66), 12)], REJECT, (5,)),
    Case("solder near joint", GAP_TO, [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (58, 40), 5)], REJECT, (8,)),
    Case("solder far from joint", GAP_TO, [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (90, 40), 5)], PASS),
    Case("joints overlapping", GAP, [(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (50, 40), 12)], REJECT, (5,)),
    # Contained or overlapping masks are 0 apart: their boundaries alone are up to r1 - r2 apart.
    Case(
        "defect inside a joint",
        DEFECT_NEAR,
        [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (40, 40), 3)],
        REJECT,
        (13,),
    ),
    Case(
        "defect across a joint",
        DEFECT_NEAR,
        [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (55, 40), 5)],
        REJECT,
        (13,),
    ),
    # Touching: neighbouring pixels, whose centres are 1 px apart.
    Case(
        "defect touching a joint",
        DEFECT_NEAR,
        [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (58, 40), 5)],
        REJECT,
        (13,),
    ),
    Case(
        "defect 2 px from a joint", DEFECT_NEAR, [(GOOD, 0.9, (40, 40), 12), (EXCESS, 0.9, (59, 40), 5)], PASS
    ),
    Case("total area mm2 over", TOTAL_MM2, THREE_JOINTS, REJECT, (15,)),
    Case("total area mm2 under", TOTAL_MM2, THREE_JOINTS[:1], PASS),
    Case("all inside zone", ZONE, THREE_JOINTS[:2], PASS),
    Case("must be outside, two inside", NOT_LEFT, THREE_JOINTS, REJECT, (14, 14)),
    Case("must be outside, all outside", NOT_LEFT, THREE_JOINTS[2:], PASS),
    Case("one outside zone", ZONE, THREE_JOINTS, REJECT, (6,)),
    Case("zone count ok", ZONE_COUNT, THREE_JOINTS, PASS),
    Case("count in zone ok", COUNT_LEFT, THREE_JOINTS, PASS),
    Case("count in zone wrong", COUNT_LEFT, [*THREE_JOINTS[:1], THREE_JOINTS[2]], REJECT, (12,)),
    Case("zone count wrong", ZONE_COUNT, THREE_JOINTS[:1], REJECT, (7,)),
    Case(
        "alarm outranks reject and comes first",
        {**DEMO, **ALARM_ON_MISSING},
        [(BRIDGE, 0.9, (100, 40), 6), (MISSING, 0.9, (200, 40), 6)],
        ALARM,
        (10, 1, 1),
    ),
]


def make_detections(instances: list[tuple[int, float, tuple[int, int], int]]) -> Detections:
    masks = [disk(SHAPE, centre, radius) for _, _, centre, radius in instances]
    return detections(masks, [c for c, _, _, _ in instances], [s for _, s, _, _ in instances], shape=SHAPE)


def config(rules: dict[str, Any]) -> RulesConfig:
    return RulesConfig(
        calibration={"px_per_mm": 4.0},
        zones={"left": {"polygon": [[0, 0], [120, 0], [120, 200], [0, 200]]}},
        rules=rules,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_table(case: Case) -> None:
    maker = build_verdicts(config(case.rules))
    verdict = maker.evaluate(make_detections(case.instances), "cam0")
    assert verdict.code is case.verdict, [r.message for r in verdict.reasons]
    assert tuple(r.code for r in verdict.reasons) == case.codes
    assert verdict.first_code == (case.codes[0] if case.codes else 0)
    assert not verdict.failsafe
    assert len(verdict.measurements) == len(case.rules)


def test_reason_carries_instance_value_and_limit() -> None:
    maker = build_verdicts(config(SIZES))
    verdict = maker.evaluate(make_detections([(GOOD, 0.9, (40, 40), 12), (GOOD, 0.9, (100, 40), 8)]), "cam0")
    (reason,) = verdict.reasons
    assert (reason.rule, reason.code, reason.instance, reason.limit) == ("joint_small", 2, 1, 15.0)
    assert reason.value == pytest.approx(disk(SHAPE, (100, 40), 8).sum() / 16.0)
    assert "good_joint #1 area_mm2" in reason.message


def test_measurements_follow_config() -> None:
    rules = {**COUNT, **SIZES}
    cfg = config(rules).model_copy(update={"measurements": ["joint_count", "joint_small"]})
    verdict = build_verdicts(cfg).evaluate(make_detections(THREE_JOINTS), "cam0")
    smallest = min(disk(SHAPE, c, r).sum() for _, _, c, r in THREE_JOINTS) / 16.0
    assert verdict.measurements == pytest.approx((3.0, smallest))


def test_no_selected_instance_measures_nan() -> None:
    verdict = build_verdicts(config(SIZES)).evaluate(make_detections([]), "cam0")
    assert verdict.code is PASS and all(math.isnan(v) for v in verdict.measurements)
    assert to_log(verdict)["measurements"] == [None, None]


def test_history_n_rejects_in_m_parts_alarms_once() -> None:
    rules = {**DEMO, "burst": {"kind": "history", "code": 20, "window": 5, "max_rejects": 3}}
    maker = build_verdicts(config(rules))
    bad, good = make_detections([(BRIDGE, 0.9, (50, 50), 6)]), make_detections([])
    seq = [bad, good, bad, good, bad, bad, good]
    codes = [maker.evaluate(d, "cam0").code for d in seq]
    assert codes == [REJECT, PASS, REJECT, PASS, ALARM, REJECT, PASS]
    # Another camera keeps its own history.
    assert maker.evaluate(bad, "cam1").code is REJECT
    assert maker.stats() == {"pass": 3, "reject": 4, "alarm": 1, "error": 0}


def test_history_reject_rate_waits_for_a_full_window() -> None:
    rules = {
        **DEMO,
        "rate": {
            "kind": "history",
            "code": 21,
            "window": 4,
            "max_reject_rate_pct": 30,
            "clear_on_alarm": False,
        },
    }
    maker = build_verdicts(config(rules))
    bad, good = make_detections([(BRIDGE, 0.9, (50, 50), 6)]), make_detections([])
    codes = [maker.evaluate(d, "cam0").code for d in [bad, good, good, good, bad, good, good, good, good]]
    assert codes == [REJECT, PASS, PASS, PASS, REJECT, PASS, PASS, PASS, PASS]
    codes = [maker.evaluate(d, "cam0").code for d in [bad, bad, good]]
    assert codes == [REJECT, ALARM, ALARM]  # 25 %, then 50 %, 50 % of the last 4 > 30 %; not cleared


def test_broken_detections_fail_safe() -> None:
    det = make_detections(THREE_JOINTS)
    broken = Detections(
        boxes=det.boxes[:2], scores=det.scores, class_ids=det.class_ids, masks=det.masks, names=det.names
    )
    verdict = build_verdicts(config(DEMO)).evaluate(broken, "cam0")
    assert verdict.failsafe and verdict.code is REJECT
    assert verdict.first_code == FailSafeCause.RULES_ERROR


def test_mm_rule_on_uncalibrated_camera_fails_safe() -> None:
    cfg = RulesConfig(calibration={"cameras": {"top": {"px_per_mm": 4.0}}}, rules=SIZES)
    maker = build_verdicts(cfg)
    parts = make_detections(THREE_JOINTS)
    assert maker.evaluate(parts, "top").code is PASS
    assert maker.evaluate(parts, "side").first_code == FailSafeCause.RULES_ERROR


def test_nan_measurement_never_passes() -> None:
    """A feature that cannot be measured fires the rule instead of passing the part."""
    rules = {"cx": {"kind": "instance", "code": 2, "classes": ["good_joint"], "centroid_x_mm": {"gt": 1e9}}}
    # Invertible, but maps the centroid (12, 12) to (0/0, 12/0): not a point of the plane.
    h = [[1, 0, -12], [0, 1, 0], [1, 1, -24]]
    cfg = RulesConfig(calibration={"cameras": {"cam0": {"homography": h}}}, rules=rules)
    verdict = build_verdicts(cfg).evaluate(detections([rectangle(SHAPE, 10, 10, 5, 5)]), "cam0")
    assert verdict.code is REJECT and "not measurable" in verdict.reasons[0].message


def test_to_log_is_json_safe() -> None:
    import json

    verdict = build_verdicts(config({**DEMO, **GAP})).evaluate(
        make_detections([(BRIDGE, 0.9, (50, 50), 6)]), "cam0"
    )
    data = to_log(verdict)
    assert data["verdict"] == "REJECT" and data["rule_code"] == 1
    assert data["measurements"] == [pytest.approx(0.9), None]  # no joint pair: distance inf → null
    json.dumps(data, allow_nan=False)


def test_masks_as_uint8_are_accepted() -> None:
    det = make_detections(THREE_JOINTS)
    as_bytes = Detections(
        boxes=det.boxes,
        scores=det.scores,
        class_ids=det.class_ids,
        masks=det.masks.to(torch.uint8),
        names=det.names,
    )
    assert build_verdicts(config(COUNT)).evaluate(as_bytes, "cam0").code is PASS


def test_rule_judges_only_its_sources() -> None:
    rules = {**COUNT, "defect": {**DEMO["defect"], "sources": ["top"]}}
    maker = build_verdicts(config(rules))
    board = make_detections([*THREE_JOINTS, (BRIDGE, 0.9, (100, 40), 6)])
    assert maker.evaluate(board, "top").code is REJECT
    side = maker.evaluate(board, "side")
    assert side.code is PASS
    assert side.measurements[0] == 3.0 and math.isnan(side.measurements[1])
