"""Reject archive: files and JSON per rejected part, quota (oldest first), drops counted, never blocking."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inspector.archive.config import ArchiveConfig
from inspector.archive.picture import Layout
from inspector.archive.quota import QuotaIndex, stem_of
from inspector.archive.writer import ArchiveWriter
from inspector.errors import ConfigError
from inspector.messages import (
    Detections,
    FailSafeCause,
    FrameMsg,
    Reason,
    Verdict,
    VerdictCode,
    failsafe_verdict,
)
from tests.support import wait_until

NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")


def detections(h: int, w: int) -> Detections:
    masks = torch.zeros((2, h, w), dtype=torch.bool)
    masks[0, 10:30, 10:40] = True
    masks[1, 40:60, 50:90] = True
    return Detections(
        boxes=torch.tensor([[10, 10, 40, 30], [50, 40, 90, 60]], dtype=torch.float32),
        scores=torch.tensor([0.9, 0.71]),
        class_ids=torch.tensor([0, 1], dtype=torch.int64),
        masks=masks,
        names=NAMES,
    )


def frame(seq: int, code: VerdictCode = VerdictCode.REJECT, size: int = 100, noise: bool = False) -> FrameMsg:
    rng = np.random.default_rng(seq)
    image = (
        rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        if noise
        else np.full((size, size, 3), 90, np.uint8)
    )
    reason = Reason(
        rule="defect_present", code=11, message="solder_bridge 0.71 >= 0.5", instance=1, value=0.71, limit=0.5
    )
    verdict = Verdict(code=code, reasons=(reason,), measurements=(0.71, 2.0))
    return FrameMsg(
        seq=seq,
        source_id="cam/0",
        t_capture=time.monotonic(),
        image=image,
        part_id=1000 + seq,
        timings_ms=(("engine", 12.5),),
        detections=detections(size, size),
        verdict=verdict,
    )


def records(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json"))


def test_rejected_part_is_archived_with_overlay_and_json(tmp_path: Path) -> None:
    writer = ArchiveWriter(ArchiveConfig(enabled=True, dir=tmp_path / "arch"))
    writer.start()
    try:
        assert writer.submit(frame(7))
        assert not writer.submit(frame(8, VerdictCode.PASS))
        assert wait_until(lambda: writer.stats().written == 1, timeout=10)
    finally:
        writer.stop()
    [json_path] = records(tmp_path / "arch")
    assert json_path.name.endswith("_000000007_cam_0.json")
    record = json.loads(json_path.read_text())
    assert record["verdict"] == "REJECT" and record["part_id"] == 1007 and record["failsafe"] is False
    assert record["reasons"][0]["rule"] == "defect_present" and record["measurements"] == [0.71, 2.0]
    assert [i["name"] for i in record["instances"]] == ["good_joint", "solder_bridge"]
    assert record["instances"][1]["mask_area"] == 20 * 40 and record["instances"][1]["box"] == [
        50,
        40,
        90,
        60,
    ]
    image = cv2.imread(str(json_path.parent / record["files"]["image"]))
    overlay = cv2.imread(str(json_path.parent / record["files"]["overlay"]))
    assert image is not None and overlay is not None
    assert np.array_equal(image, frame(7).image)
    top = 2 * Layout.for_width(100).line  # the banner above the image
    assert overlay.shape[0] == 100 + top and overlay.shape[1] > 100  # and the legend to its right
    assert not np.array_equal(overlay[top + 45, 70], image[45, 70])  # inside a mask: tinted
    assert np.array_equal(overlay[top + 95, 5], image[95, 5])  # far from any instance: untouched


def test_which_verdicts_are_archived(tmp_path: Path) -> None:
    writer = ArchiveWriter(
        ArchiveConfig(enabled=True, dir=tmp_path, include_alarm=False, include_failsafe=False)
    )
    assert writer.wants(frame(1))
    assert not writer.wants(frame(1, VerdictCode.ALARM))
    failsafe = FrameMsg(
        1, "cam", 0.0, frame(1).image, verdict=failsafe_verdict(FailSafeCause.DEADLINE, "late")
    )
    assert not writer.wants(failsafe)
    assert ArchiveWriter(ArchiveConfig(dir=tmp_path)).wants(failsafe)


def test_quota_deletes_oldest_first_including_earlier_runs(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    old_day = root / "2020-01-01"
    old_day.mkdir(parents=True)
    for ext in (".png", ".overlay.png", ".json"):
        (old_day / f"20200101T000000.000Z_000000001_cam{ext}").write_bytes(b"x" * 200_000)
    config = ArchiveConfig(enabled=True, dir=root, quota_mib=1, png_compression=0)
    writer = ArchiveWriter(config)
    writer.start()
    try:
        for seq in range(6):  # ~3 x 90 kB per record with noise images
            writer.submit(frame(seq, size=170, noise=True))
            assert wait_until(lambda s=seq: writer.stats().written == s + 1, timeout=10)  # type: ignore[misc]
    finally:
        writer.stop()
    stats = writer.stats()
    assert not old_day.exists()  # the earlier run's record went first
    assert stats.used_bytes <= 1024 * 1024 and stats.deleted >= 2
    left = [p.name.split("_")[1] for p in records(root)]
    assert left == sorted(left) and left[-1] == "000000005"  # the newest survive
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) == stats.used_bytes


def test_records_of_the_same_second_stay_separate_after_a_restart(tmp_path: Path) -> None:
    """Stems carry milliseconds ("...T120000.123Z_..."): a rescan must not merge one second's records."""
    day = tmp_path / "2024-05-06"
    day.mkdir()
    stems = [f"20240506T120000.{ms:03d}Z_{seq:09d}_cam0" for seq, ms in ((7, 5), (8, 250), (9, 999))]
    for stem in stems:
        for ext in (".png", ".overlay.png", ".json"):
            (day / f"{stem}{ext}").write_bytes(b"x" * 1000)
    (day / ".20240506T120000.999Z_000000009_cam0.json.tmp").write_bytes(b"half")  # not a record
    assert stem_of(day / f"{stems[0]}.overlay.png") == stems[0]
    dotted = "20240506T120000.005Z_000000001_cam.0"
    assert stem_of(Path(f"{dotted}.json")) == dotted
    index = QuotaIndex(tmp_path, quota_bytes=7000)
    index.scan()
    assert index.records == 3 and index.used_bytes == 9000
    assert index.enforce() == 1  # only the oldest record of that second goes
    assert sorted(p.name for p in day.glob("*.json")) == [f"{stems[1]}.json", f"{stems[2]}.json"]
    assert len(list(day.glob("*.png"))) == 4


def test_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    writer = ArchiveWriter(ArchiveConfig(enabled=True, dir=tmp_path, queue_size=2))
    # The writer is not started, so nothing drains: a blocking submit would hang here.
    accepted = [writer.submit(frame(i)) for i in range(50)]
    assert accepted.count(True) == 2 and writer.stats().dropped_queue_full == 48
    writer.start()
    try:
        assert wait_until(lambda: writer.stats().written == 2, timeout=10)
    finally:
        writer.stop()


def test_low_disk_drops_and_counts(tmp_path: Path) -> None:
    writer = ArchiveWriter(ArchiveConfig(enabled=True, dir=tmp_path, min_free_mib=1 << 30))
    writer.start()
    try:
        writer.submit(frame(1))
        assert wait_until(lambda: writer.stats().dropped_disk_low == 1, timeout=10)
    finally:
        writer.stop()
    assert writer.stats().written == 0 and records(tmp_path) == []


def test_unwritable_dir_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"archive.dir: .* is not writable"):
        ArchiveWriter(ArchiveConfig(enabled=True, dir=tmp_path / "file" / "sub")).start()
