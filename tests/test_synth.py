"""The synthetic board generator and its YOLO-seg export."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from inspector.cli import main
from inspector.synth import CLASS_NAMES, BoardGenerator, DefectPolicy, board_rejected
from inspector.synth.export import polygon_from_label_line, write_dataset, yolo_label_line
from inspector.synth.layout import GOOD_JOINT, MISSING_JOINT


def test_same_seed_and_index_give_identical_boards() -> None:
    a_img, a_inst = BoardGenerator((320, 240), seed=7).render(3)
    b_img, b_inst = BoardGenerator((320, 240), seed=7).render(3)
    assert np.array_equal(a_img, b_img)
    assert [i.class_id for i in a_inst] == [i.class_id for i in b_inst]
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a_inst, b_inst, strict=True))


def test_other_seed_or_index_gives_another_board() -> None:
    base, _ = BoardGenerator((320, 240), seed=7).render(3)
    assert not np.array_equal(base, BoardGenerator((320, 240), seed=8).render(3)[0])
    assert not np.array_equal(base, BoardGenerator((320, 240), seed=7).render(4)[0])


@pytest.mark.parametrize("size", [(640, 480), (320, 240), (500, 700)])
def test_frame_and_instances_are_well_formed(size: tuple[int, int]) -> None:
    image, instances = BoardGenerator(size, seed=1).render(0)
    assert image.shape == (size[1], size[0], 3) and image.dtype == np.uint8
    assert len(instances) >= 10
    covered = np.zeros(image.shape[:2], np.int32)
    for inst in instances:
        assert inst.mask.shape == image.shape[:2] and inst.mask.dtype == bool
        assert 0 <= inst.class_id < len(CLASS_NAMES) and inst.area > 0
        covered += inst.mask
    assert covered.max() == 1, "joint masks must not overlap"


def _mean_saturation(image: np.ndarray, mask: np.ndarray) -> float:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    return float(hsv[..., 1][mask].mean())


def test_masks_cover_what_their_class_shows() -> None:
    """Good joints are grey solder; missing joints are bare (saturated) copper."""
    gen = BoardGenerator((640, 480), seed=3, policy=DefectPolicy(defect_board_rate=1.0, max_defects=5))
    good, missing = [], []
    for index in range(6):
        image, instances = gen.render(index)
        for inst in instances:
            if inst.class_id == GOOD_JOINT:
                good.append(_mean_saturation(image, inst.mask))
            elif inst.class_id == MISSING_JOINT:
                missing.append(_mean_saturation(image, inst.mask))
    assert good and missing
    assert np.median(missing) > 2 * np.median(good)


def test_reject_follows_defects_and_policy() -> None:
    clean = BoardGenerator((320, 240), seed=2, policy=DefectPolicy(defect_board_rate=0.0))
    faulty = BoardGenerator((320, 240), seed=2, policy=DefectPolicy(defect_board_rate=1.0, max_defects=2))
    for index in range(3):
        assert not board_rejected(clean.render(index)[1])
        instances = faulty.render(index)[1]
        assert board_rejected(instances)
        assert 1 <= sum(inst.is_defect for inst in instances) <= 2


def test_polygon_label_round_trips_to_the_mask() -> None:
    image, instances = BoardGenerator((640, 480), seed=4).render(1)
    h, w = image.shape[:2]
    for inst in instances:
        class_id, poly = polygon_from_label_line(yolo_label_line(inst), w, h)
        assert class_id == inst.class_id
        filled = np.zeros((h, w), np.uint8)
        cv2.fillPoly(filled, [np.round(poly).astype(np.int32)], 1)
        iou = (filled.astype(bool) & inst.mask).sum() / (filled.astype(bool) | inst.mask).sum()
        assert iou > 0.9, f"{inst.class_name} polygon IoU {iou:.3f}"


def test_write_dataset_files_agree(tmp_path: Path) -> None:
    gen = BoardGenerator((320, 240), seed=5)
    assert write_dataset(gen, tmp_path, 3) == 3
    data = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    for index in range(3):
        stem = f"{index:06d}"
        image = cv2.imread(str(tmp_path / "images" / f"{stem}.png"))
        expected, instances = gen.render(index)
        assert np.array_equal(image, expected)
        lines = (tmp_path / "labels" / f"{stem}.txt").read_text().splitlines()
        record = json.loads((tmp_path / "meta" / f"{stem}.json").read_text())
        assert len(lines) == len(instances) == len(record["instances"])
        assert record["reject"] == board_rejected(instances)
        assert [r["mask_area"] for r in record["instances"]] == [i.area for i in instances]
        assert [int(line.split()[0]) for line in lines] == [r["class_id"] for r in record["instances"]]


def test_cli_writes_boards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--out", str(tmp_path), "--count", "2", "--seed", "9", "--size", "320x240"]) == 0
    assert len(list((tmp_path / "images").glob("*.png"))) == 2
    assert "wrote 2 boards" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--size", "big"], "WIDTHxHEIGHT"), (["--size", "10x10"], "between"), (["--count", "0"], "at least 1")],
)
def test_cli_bad_arguments_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["synth", "--out", str(tmp_path), "--count", "1", *extra]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
