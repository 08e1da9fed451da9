"""The page's parts without a browser: setup figures, the gallery's bound and pictures, the
last-hour counters, JPEG scaling, and the output's submit keeping references only."""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch

from inspector.archive.picture import overlay_image
from inspector.messages import Detections, FrameMsg, Reason, Verdict, VerdictCode
from inspector.web.config import WebConfig
from inspector.web.frames import encode_jpeg
from inspector.web.gallery import CompactPart, Gallery
from inspector.web.output import WebOutput, _difference, bucket_quantile
from inspector.web.setup_view import BINS, setup_figures


def part(seq: int, code: VerdictCode, image: np.ndarray | None = None) -> FrameMsg:
    image = np.full((60, 80, 3), 90, np.uint8) if image is None else image
    reasons = (
        (Reason("no_bridge", 10, instance=0, value=0.9, limit=0.5),) if code is not VerdictCode.PASS else ()
    )
    det = Detections(
        boxes=torch.tensor([[10.0, 10.0, 30.0, 30.0]]),
        scores=torch.tensor([0.9]),
        class_ids=torch.tensor([1]),
        masks=torch.ones((1, *image.shape[:2]), dtype=torch.bool),
        names=("good", "bridge"),
    )
    verdict = Verdict(code, reasons)
    return FrameMsg(seq, "cam0", time.monotonic(), image, part_id=seq, detections=det, verdict=verdict)


def test_setup_figures_see_clipping_and_focus() -> None:
    sharp = np.zeros((100, 100, 3), np.uint8)
    sharp[:, 50:] = 255
    figures = setup_figures(sharp)
    assert len(figures.histogram) == BINS and sum(figures.histogram) == 100 * 100
    assert figures.dark_share == 0.5 and figures.bright_share == 0.5
    blurred = setup_figures(cv2.GaussianBlur(sharp, (15, 15), 5))
    assert blurred.focus < figures.focus / 4
    assert blurred.as_json()["clipped"] < 1.0


def test_the_gallery_keeps_the_newest_non_pass_parts_only() -> None:
    gallery = Gallery(3, None, 0.45)
    for seq in range(10):
        gallery.add(part(seq, VerdictCode.PASS if seq % 2 else VerdictCode.REJECT))
    listing = gallery.listing()
    assert [p["seq"] for p in listing] == [8, 6, 4]  # newest first, PASS never listed
    first = listing[0]
    assert first["reasons"][0] == {
        "rule": "no_bridge", "code": 10, "message": "", "instance": 0, "value": 0.9, "limit": 0.5
    }  # fmt: skip
    gallery.compact()  # the masks cut to their boxes: the picture is drawn all the same
    assert all(isinstance(e.msg, CompactPart) for e in gallery._entries)
    jpeg = gallery.picture(first["id"], 80)
    assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
    assert gallery.picture(first["id"], 80) is jpeg  # drawn once, then cached
    assert gallery.picture(12345, 80) is None


def test_a_compact_part_draws_the_same_overlay() -> None:
    msg = part(1, VerdictCode.REJECT)
    compact = CompactPart.of(msg)
    assert isinstance(compact, CompactPart) and compact.detections.masks.numel() == 0
    assert np.array_equal(overlay_image(compact.expand(), 0.45, now=0.0), overlay_image(msg, 0.45, now=0.0))


def test_pictures_wider_than_the_cap_are_scaled_down() -> None:
    image = np.random.default_rng(0).integers(0, 255, (300, 2000, 3), dtype=np.uint8)
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(image, 70, 1000), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (150, 1000, 3)


def test_last_hour_is_the_difference_of_cumulative_totals() -> None:
    then = {"parts": 100, "verdicts": {"PASS": 90, "REJECT": 10}, "failsafes": {"900": 2}}
    now = {
        "parts": 460,
        "verdicts": {"PASS": 400, "REJECT": 58, "ALARM": 2},
        "failsafes": {"900": 2, "902": 1},
    }
    hour = _difference(now, then, 3600.0)
    assert hour["parts"] == 360 and hour["fps"] == 0.1
    assert hour["verdicts"] == {"PASS": 310, "REJECT": 48, "ALARM": 2}
    assert hour["failsafes"] == {"902": 1}


def test_last_hour_percentiles_come_from_the_histogram_buckets() -> None:
    then = {"parts": 0, "e2e_buckets": {"0.01": 0.0, "0.02": 0.0, "0.05": 0.0, "+Inf": 0.0}}
    now = {"parts": 100, "e2e_buckets": {"0.01": 40.0, "0.02": 90.0, "0.05": 99.0, "+Inf": 100.0}}
    hour = _difference(now, then, 3600.0)
    assert hour["e2e_ms"] == {"p50": 12.0, "p99": 50.0}  # 10 + 10 * (50 - 40) / 50 ms
    assert bucket_quantile({"0.01": 1.0, "+Inf": 5.0}, 0.99) == 10.0  # past the last bound: that bound
    assert bucket_quantile({}, 0.5) is None


def test_submit_keeps_references_and_draws_nothing_without_viewers() -> None:
    web = WebOutput(WebConfig(), 0.45, None)
    web.start()
    try:
        for seq in range(50):
            web.submit(part(seq, VerdictCode.REJECT))
        assert web.latest("cam0") is not None and web.latest("cam0").seq == 49  # type: ignore[union-attr]
        assert len(web.gallery.listing()) == WebConfig().gallery_size
        time.sleep(0.3)
        assert web.encoder.encoded == 0
        channel = web.encoder.hold("cam0", "live", +1)
        assert channel.wait_newer(0, 10.0) is not None  # a viewer: the newest part is drawn
        web.encoder.hold("cam0", "live", -1)
    finally:
        web.stop(5.0)
