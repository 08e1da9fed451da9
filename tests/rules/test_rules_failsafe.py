"""Fail-safe parts in the history rules, and the `inspection` log event built from a real verdict."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from inspector.app.stats import inspection_fields
from inspector.messages import Detections, FailSafeCause, FrameMsg, VerdictCode, failsafe_verdict
from inspector.rules import RulesConfig, build_verdicts, to_log
from tests.support.masks import detections, disk

SHAPE = (200, 300)
GOOD, BRIDGE = 0, 1
PASS, REJECT, ALARM = VerdictCode.PASS, VerdictCode.REJECT, VerdictCode.ALARM
DEFECT = {"defect": {"kind": "presence", "code": 1, "classes": ["solder_bridge"], "min_score": 0.5}}
BURST = {"burst": {"kind": "history", "code": 20, "window": 4, "max_rejects": 2}}


def part(*instances: tuple[int, tuple[int, int], int]) -> Detections:
    masks = [disk(SHAPE, centre, radius) for _, centre, radius in instances]
    return detections(masks, [c for c, _, _ in instances], shape=SHAPE)


def broken() -> Detections:
    """Detections whose instance counts disagree: the rules cannot run on them."""
    det = part((GOOD, (40, 40), 12))
    return Detections(det.boxes, det.scores[:0], det.class_ids, det.masks, det.names)


def test_rules_errors_count_in_the_history() -> None:
    maker = build_verdicts(RulesConfig(rules={**DEFECT, **BURST}))
    first = maker.evaluate(broken(), "cam0")
    assert (first.code, first.failsafe, first.first_code) == (REJECT, True, FailSafeCause.RULES_ERROR)
    second = maker.evaluate(broken(), "cam0")
    assert second.code is ALARM and second.failsafe
    assert [r.code for r in second.reasons] == [FailSafeCause.RULES_ERROR, 20]  # the cause stays first
    assert maker.stats() == {"pass": 0, "reject": 1, "alarm": 1, "error": 2}


def test_parts_failed_safe_upstream_count_with_judged_ones() -> None:
    maker = build_verdicts(RulesConfig(rules={**DEFECT, **BURST}))
    assert maker.evaluate(part((BRIDGE, (50, 50), 6)), "cam0").code is REJECT
    engine = failsafe_verdict(FailSafeCause.ENGINE_ERROR, "engine failed")
    judged = maker.judge_failsafe(engine, "cam0")
    assert judged.code is ALARM and judged.failsafe
    assert [r.code for r in judged.reasons] == [FailSafeCause.ENGINE_ERROR, 20]
    assert maker.evaluate(part(), "cam0").code is PASS  # the alarm cleared the window
    assert maker.stats()["reject"] == 1  # stats() counts what the rules judged


def test_shutdown_and_other_cameras_do_not_count() -> None:
    rules = {**DEFECT, "top_burst": {**BURST["burst"], "sources": ["top"]}}
    maker = build_verdicts(RulesConfig(rules=rules))
    stopping = failsafe_verdict(FailSafeCause.SHUTDOWN, "stopped before inspection")
    dropped = failsafe_verdict(FailSafeCause.FRAME_DROPPED, "frame dropped (queue full)")
    for _ in range(3):
        assert maker.judge_failsafe(stopping, "top") is stopping
        assert maker.judge_failsafe(dropped, "side") is dropped
    assert maker.judge_failsafe(dropped, "top") is dropped
    assert maker.judge_failsafe(dropped, "top").code is ALARM


def rules_for_log() -> RulesConfig:
    return RulesConfig(
        calibration={"px_per_mm": 4.0},
        zones={"left": {"polygon": [[0, 0], [120, 0], [120, 200], [0, 200]]}},
        rules={
            **DEFECT,
            "small": {"kind": "instance", "code": 2, "classes": ["good_joint"], "area_mm2": {"lt": 15.0}},
            "in_left": {
                "kind": "zone",
                "code": 3,
                "zone": "left",
                "classes": ["good_joint"],
                "must_be": "inside",
            },
            "gap": {"kind": "distance", "code": 4, "classes": ["good_joint"], "distance_px": {"lt": 2}},
            **BURST,
        },
    )


def frame(det: Detections, verdict: Any) -> FrameMsg:
    image = np.zeros((*SHAPE, 3), np.uint8)
    return FrameMsg(7, "cam0", time.monotonic(), image, 42, (("rules", 1.25),), det, verdict)


def test_inspection_event_carries_the_verdict_reasons_and_measurements() -> None:
    det = part((GOOD, (40, 40), 8), (GOOD, (200, 100), 12), (BRIDGE, (100, 150), 5))
    verdict = build_verdicts(rules_for_log()).evaluate(det, "cam0")
    event = inspection_fields(frame(det, verdict), 12.3456)
    json.dumps(event, allow_nan=False)  # structlog's JSON renderer must not meet NaN
    assert event == {**event, "seq": 7, "source": "cam0", "part_id": 42, "e2e_ms": 12.346}
    assert (event["verdict"], event["verdict_code"], event["failsafe"]) == ("REJECT", int(REJECT), False)
    # the first rule flat (Loki's json parser skips arrays), as deploy/ log views and dashboard read it
    assert (event["rule"], event["rule_code"], event["reasons_total"]) == ("defect", 1, 3)
    assert [(r["rule"], r["code"], r["instance"]) for r in event["reasons"]] == [
        ("defect", 1, 2),
        ("small", 2, 0),
        ("in_left", 3, 1),
    ]
    small = event["reasons"][1]
    assert set(small) == {"rule", "code", "instance", "value", "limit", "message"}
    assert small["value"] == pytest.approx(disk(SHAPE, (40, 40), 8).sum() / 16.0) and small["limit"] == 15.0
    assert event["reasons"][2]["value"] == pytest.approx(-80.0) and event["reasons"][2]["limit"] == 0.0
    # defect: best score; small: smallest area; in_left: one outside;
    # gap: ~151 px (171 between the joint centres, radii 8 and 12); burst: 1 of 1
    assert event["measurements"][0] == pytest.approx(0.9)
    assert event["measurements"][2:] == [1.0, pytest.approx(151.0, abs=1.5), 1.0]
    assert event["instances"] == {"good_joint": 2, "solder_bridge": 1} and event["stage_ms"] == {
        "rules": 1.25
    }
    assert {k: event[k] for k in to_log(verdict)} == to_log(verdict)  # one implementation


def test_inspection_event_of_a_pass_and_of_a_failsafe_part() -> None:
    det = part((GOOD, (40, 40), 12))
    verdict = build_verdicts(rules_for_log()).evaluate(det, "cam0")
    passed = inspection_fields(frame(det, verdict), 1.0)
    assert (passed["verdict"], passed["rule"], passed["rule_code"], passed["reasons"]) == (
        "PASS",
        None,
        0,
        [],
    )
    assert passed["measurements"][3] is None  # one joint: no pair, distance inf -> null
    json.dumps(passed, allow_nan=False)
    failed = inspection_fields(frame(det, failsafe_verdict(FailSafeCause.DEADLINE, "late")), 1.0)
    assert (failed["failsafe"], failed["rule"], failed["rule_code"]) == (True, "failsafe.deadline", 900)
    assert failed["measurements"] == []
    unjudged = inspection_fields(frame(det, None), 1.0)
    assert (unjudged["verdict"], unjudged["failsafe"]) == ("NONE", True)
