"""The overlay an operator reads: banner, every instance numbered as the reasons quote it,
failing ones strong, and labels that never overlap, even on a crowded board."""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import time

import cv2
import numpy as np
import torch

from inspector.archive.labels import Tag, disjoint
from inspector.archive.picture import Layout, banner_lines, capture_time, layout_labels, overlay_image
from inspector.messages import (
    Detections,
    FailSafeCause,
    FrameMsg,
    Reason,
    Verdict,
    VerdictCode,
    failsafe_verdict,
)
from tests.archive.test_archive import NAMES

NOW = calendar.timegm((2026, 12, 7, 9, 10, 11, 0, 0, 0))


def board(
    columns: int, rows: int, pitch: int, failing: dict[int, int], size: tuple[int, int] = (480, 640)
) -> FrameMsg:
    """A board of joints ``pitch`` pixels apart (32x24 boxes); ``failing`` maps instance -> class."""
    height, width = size
    boxes = [
        [8 + c * pitch, 8 + r * pitch, 8 + c * pitch + 32, 8 + r * pitch + 24]
        for r in range(rows)
        for c in range(columns)
    ]
    masks = torch.zeros((len(boxes), height, width), dtype=torch.bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        masks[i, y1 + 2 : y2 - 2, x1 + 2 : x2 - 2] = True
    class_ids = [failing.get(i, 0) for i in range(len(boxes))]
    reasons = tuple(
        Reason(rule="joint_area", code=11, message="", instance=i, value=12.5, limit=20.0) for i in failing
    )
    detections = Detections(
        boxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.full((len(boxes),), 0.9),
        class_ids=torch.tensor(class_ids, dtype=torch.int64),
        masks=masks,
        names=NAMES,
    )
    return FrameMsg(
        seq=1234,
        source_id="cam0",
        t_capture=0.0,
        image=np.full((height, width, 3), 60, np.uint8),
        part_id=5678,
        detections=detections,
        verdict=Verdict(code=VerdictCode.REJECT, reasons=(*reasons, Reason(rule="joint_count", code=21))),
    )


def labels_of(msg: FrameMsg) -> tuple[list[Tag], list[Tag]]:
    layout = Layout.for_width(msg.image.shape[1])
    canvas = overlay_image(msg, 0.45, now=NOW)
    return layout_labels(msg, layout, (canvas.shape[1], canvas.shape[0]))


def assert_pairwise_disjoint(labels: list[Tag]) -> None:
    for a, b in itertools.combinations(labels, 2):
        assert disjoint(a.rect, b.rect), (a, b)


def test_crowded_board_labels_never_overlap_and_every_instance_is_numbered() -> None:
    msg = board(columns=15, rows=14, pitch=34, failing={41: 2, 97: 1})  # 210 joints, 2 px apart
    tags, rows = labels_of(msg)
    assert_pairwise_disjoint(tags + rows)
    numbered = {t.instance for t in tags} | {r.instance for r in rows if r.leader_to is not None}
    assert numbered == set(range(210))
    assert {t.instance: t.text for t in tags if t.instance in (41, 97)} == {41: "#41", 97: "#97"}
    failing_rows = [r for r in rows if r.instance in (41, 97)]
    assert [r.text.split()[0] for r in failing_rows if r.leader_to] == ["#41", "#97"]
    assert any("joint_area:11 12.5 limit 20" in r.text for r in failing_rows)
    assert any("joint_count:21" in r.text for r in rows)  # the part's own reason, no instance


def test_overlapping_instances_fall_back_to_the_legend_without_overlap() -> None:
    msg = board(columns=40, rows=30, pitch=12, failing={7: 1, 500: 2})  # 1200 boxes piled up
    tags, rows = labels_of(msg)
    assert_pairwise_disjoint(tags + rows)
    assert rows[-1].text.endswith("more") and all(r.rect[0] >= 640 for r in rows)
    assert [r.text.split()[0] for r in rows if r.leader_to][:2] == ["#7", "#500"]  # failing first


def test_a_board_with_room_gets_every_number_next_to_its_joint() -> None:
    tags, rows = labels_of(board(columns=8, rows=6, pitch=70, failing={13: 3}))
    assert_pairwise_disjoint(tags + rows)
    assert sorted(t.instance for t in tags) == list(range(48))
    assert [r.instance for r in rows if r.leader_to] == [13]


def test_banner_names_verdict_rule_code_part_seq_camera_and_utc_time() -> None:
    head, where = banner_lines(board(2, 1, 40, failing={1: 2}), NOW)
    assert head == "REJECT  joint_area  code 11  (+1 more)"
    assert where == "part 5678  seq 1234  cam0  2026-12-07 09:10:11 UTC"


def test_banner_time_is_the_capture_time_not_the_archive_time() -> None:
    before = time.time()
    msg = dataclasses.replace(board(2, 1, 40, failing={}), t_capture=time.monotonic() - 30.0)
    captured = capture_time(msg)
    after = time.time()
    assert before - 30.5 <= captured <= after - 29.5  # 30 s before, however long this took


def test_failing_instances_are_strong_and_good_ones_faint() -> None:
    msg = board(columns=3, rows=1, pitch=60, failing={1: 2})
    canvas = overlay_image(msg, 0.45, now=NOW)
    top = 2 * Layout.for_width(640).line
    image = canvas[top:, :640].astype(int)
    good, bad = image[20, 8 + 16], image[20, 68 + 16]  # mask centres of #0 and #1
    assert 0 < np.abs(good - 60).sum() < np.abs(bad - 60).sum()
    assert bad[2] > bad[0]  # tinted red (BGR)
    assert (image[400, 300] == 60).all()  # away from every instance: the image as it was


def test_failsafe_without_detections_still_has_its_banner() -> None:
    msg = FrameMsg(
        seq=3,
        source_id="cam1",
        t_capture=0.0,
        image=np.zeros((120, 160, 3), np.uint8),
        verdict=failsafe_verdict(FailSafeCause.OUT_OF_MEMORY, "CUDA out of memory"),
    )
    canvas = overlay_image(msg, 0.45, now=NOW)
    assert canvas.shape[0] > 120 and cv2.imencode(".png", canvas)[0]
    head, where = banner_lines(msg, NOW)
    assert head.startswith("REJECT (fail-safe)") and "code 907" in head and where.startswith("part -  seq 3")
