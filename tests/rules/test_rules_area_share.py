"""The ``area_share`` rule kind: the share of a region (a zone, other classes' masks, or the whole
frame) that some classes' masks cover, overlaps counted once; no region found fires (fail safe)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from inspector.errors import ConfigError
from inspector.messages import VerdictCode
from inspector.rules import RulesConfig, build_verdicts, check_names
from tests.support.masks import detections, rectangle

SHAPE = (100, 200)  # 20 000 px
NAMES = ("board", "scratch", "stain")
BOARD, SCRATCH, STAIN = range(3)


def verdict_of(
    rule: dict[str, Any], masks: list[Any], ids: list[int], zones: dict[str, Any] | None = None
) -> Any:
    config = RulesConfig.model_validate(
        {"zones": zones or {}, "rules": {"share": {"kind": "area_share", "code": 3, **rule}}}
    )
    return build_verdicts(config).evaluate(detections(masks, ids, names=NAMES, shape=SHAPE), "cam0")


def test_share_of_the_whole_frame_counts_overlaps_once() -> None:
    a, b = rectangle(SHAPE, 0, 0, 20, 10), rectangle(SHAPE, 10, 0, 20, 10)  # 200 px each, 100 shared
    verdict = verdict_of(
        {"classes": ["scratch", "stain"], "share_pct": {"gt": 1.0}}, [a, b], [SCRATCH, STAIN]
    )
    assert verdict.code == VerdictCode.REJECT
    assert verdict.reasons[0].value == pytest.approx(100 * 300 / 20_000)
    assert (
        verdict_of({"classes": ["scratch"], "share_pct": {"gt": 1.0}}, [a], [SCRATCH]).code
        == VerdictCode.PASS
    )


def test_share_of_a_zone_counts_only_pixels_inside_it() -> None:
    zone = {"left": {"polygon": [[0, 0], [49, 0], [49, 99], [0, 99]]}}  # 50 x 100 = 5000 px
    stain = rectangle(SHAPE, 40, 0, 20, 50)  # 10 x 50 inside the zone
    rule = {"classes": ["stain"], "share_pct": {"ge": 10.0}, "roi": "left"}
    verdict = verdict_of(rule, [stain], [STAIN], zone)
    assert verdict.code == VerdictCode.REJECT and verdict.reasons[0].value == pytest.approx(10.0)


def test_share_of_other_classes_masks_and_fail_safe_without_them() -> None:
    board, stain = rectangle(SHAPE, 0, 0, 100, 100), rectangle(SHAPE, 90, 0, 20, 10)  # half on the board
    rule = {"classes": ["stain"], "share_pct": {"gt": 0.5}, "roi_classes": ["board"]}
    verdict = verdict_of(rule, [board, stain], [BOARD, STAIN])
    assert verdict.reasons[0].value == pytest.approx(100 * 100 / 10_000)
    no_board = verdict_of(rule, [stain], [STAIN])
    assert no_board.code == VerdictCode.REJECT and "not measurable" in no_board.reasons[0].message


def test_config_refuses_two_regions_and_unknown_zones_and_classes() -> None:
    with pytest.raises(ValidationError, match="at most one of roi, roi_classes"):
        RulesConfig.model_validate(
            {
                "zones": {"z": {"polygon": [[0, 0], [1, 0], [1, 1]]}},
                "rules": {
                    "s": {
                        "kind": "area_share",
                        "code": 1,
                        "classes": ["stain"],
                        "share_pct": {"gt": 1},
                        "roi": "z",
                        "roi_classes": ["board"],
                    }
                },
            }
        )
    with pytest.raises(ValidationError, match=r"rules\.rules\.s\.roi: no zone 'nowhere'"):
        RulesConfig.model_validate(
            {
                "rules": {
                    "s": {
                        "kind": "area_share",
                        "code": 1,
                        "classes": ["stain"],
                        "share_pct": {"gt": 1},
                        "roi": "nowhere",
                    }
                }
            }
        )
    config = RulesConfig.model_validate(
        {
            "rules": {
                "s": {
                    "kind": "area_share",
                    "code": 1,
                    "classes": ["stain"],
                    "share_pct": {"gt": 1},
                    "roi_classes": ["part"],
                }
            }
        }
    )
    with pytest.raises(ConfigError) as caught:
        check_names(config, NAMES)
    assert "rules.rules.s.area_share.roi_classes" in str(caught.value.problems)
