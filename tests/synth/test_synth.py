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
from inspector.synth.export import polygon_from_label_line, write_dataset, write_images, yolo_label_line
from inspector.synth.generator import _camera_effects, _camera_warp
from inspector.synth.layout import GOOD_JOINT, MISSING_JOINT, unit


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
    """Contours run through boundary pixel centres: filling a label back gives the mask exactly."""
    gen = BoardGenerator((640, 480), seed=4, policy=DefectPolicy(defect_board_rate=1.0, max_defects=5))
    for index in (1, 2):
        image, instances = gen.render(index)
        h, w = image.shape[:2]
        for inst in instances:
            class_id, poly = polygon_from_label_line(yolo_label_line(inst), w, h)
            assert class_id == inst.class_id
            filled = np.zeros((h, w), np.uint8)
            cv2.fillPoly(filled, [np.round(poly).astype(np.int32)], 1)
            assert np.array_equal(filled.astype(bool), inst.mask), f"{inst.class_name} on board {index}"


def test_downscaled_store_keeps_labels_and_areas_at_the_stored_size(tmp_path: Path) -> None:
    """``store_width`` (how training data is written): image, JSON and labels all describe the
    stored frame. A polygon filled at half size is within rasterisation error of the mask."""
    gen = BoardGenerator((640, 480), seed=5)
    assert write_images(gen, tmp_path, [0, 1], store_width=320) == 2
    for index in (0, 1):
        stem = f"{index:06d}"
        image = cv2.imread(str(tmp_path / "images" / f"{stem}.png"))
        record = json.loads((tmp_path / "meta" / f"{stem}.json").read_text())
        assert image.shape == (240, 320, 3) and (record["width"], record["height"]) == (320, 240)
        _, instances = gen.render(index)
        lines = (tmp_path / "labels" / f"{stem}.txt").read_text().splitlines()
        assert len(lines) == len(instances) == len(record["instances"])
        for line, rec, inst in zip(lines, record["instances"], instances, strict=True):
            class_id, poly = polygon_from_label_line(line, 320, 240)
            assert class_id == rec["class_id"] == inst.class_id
            assert rec["mask_area"] == round(inst.area / 4)
            assert rec["bbox"] == [round(v / 2, 1) for v in inst.bbox]
            filled = np.zeros((240, 320), np.uint8)
            cv2.fillPoly(filled, [np.round(poly).astype(np.int32)], 1)
            small = cv2.resize(inst.mask.astype(np.float32), (320, 240), interpolation=cv2.INTER_AREA) >= 0.5
            iou = (filled.astype(bool) & small).sum() / (filled.astype(bool) | small).sum()
            assert iou >= 0.9, f"{inst.class_name}: label vs. downscaled mask IoU {iou:.3f}"
            # fillPoly includes the boundary pixels it passes through: a little over, never under
            assert 0.95 <= filled.sum() / rec["mask_area"] <= 1.3


def _board_and_labels(size: tuple[int, int], margin: int) -> tuple[np.ndarray, np.ndarray]:
    """A real rendered board padded by ``margin`` (the camera warp crops it) and its labels."""
    image, instances = BoardGenerator(size, seed=6).render(0)
    labels = np.zeros(image.shape[:2], np.int32)
    for k, inst in enumerate(instances):
        labels[inst.mask] = k + 1
    pad = ((margin, margin), (margin, margin))
    return np.pad(image, (*pad, (0, 0)), mode="reflect"), np.pad(labels, pad)


def test_camera_varies_pose_lighting_and_colour_between_draws() -> None:
    """Same board, different camera draws: rotation/offset and brightness/colour cast differ."""
    size, margin = (320, 240), 32
    board, labels = _board_and_labels(size, margin)
    poses, looks = [], []
    for draw in range(5):
        _, warped = _camera_warp(np.random.default_rng(draw), board, labels, margin)
        ids = [k for k in range(1, labels.max() + 1) if (warped == k).sum() >= 10]
        src = np.array([np.argwhere(labels == k).mean(0)[::-1] - margin for k in ids], np.float32)
        dst = np.array([np.argwhere(warped == k).mean(0)[::-1] for k in ids], np.float32)
        m, _ = cv2.estimateAffinePartial2D(src, dst)
        poses.append((np.degrees(np.arctan2(m[1, 0], m[0, 0])), m[0, 2], m[1, 2]))
        lit = _camera_effects(np.random.default_rng(draw), board[margin:-margin, margin:-margin], unit(*size))
        mean_bgr = lit.reshape(-1, 3).mean(0)
        looks.append((mean_bgr.mean(), mean_bgr[0] / mean_bgr[2]))
    angle, tx, ty = np.ptp(np.array(poses), axis=0)
    assert angle > 1.0, f"rotation spread {angle:.2f} degrees"
    assert max(tx, ty) > 2.0, f"offset spread {tx:.1f}, {ty:.1f} px"
    brightness, blue_over_red = np.ptp(np.array(looks), axis=0)
    assert brightness > 10, f"brightness spread {brightness:.1f} grey levels"
    assert blue_over_red > 0.03, f"colour cast spread {blue_over_red:.3f}"


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


def test_cli_refuses_a_folder_with_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second run into the same folder would leave the first run's boards in data.yaml."""
    args = ["synth", "--out", str(tmp_path), "--seed", "9", "--size", "160x120"]
    assert main([*args, "--count", "3"]) == 0
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert main([*args, "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "--force" in err and "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_cli_force_replaces_what_synth_wrote_and_keeps_other_files(tmp_path: Path) -> None:
    assert main(["synth", "--out", str(tmp_path), "--count", "3", "--seed", "9", "--size", "160x120"]) == 0
    (tmp_path / "notes.txt").write_text("mine")
    args = ["synth", "--out", str(tmp_path), "--count", "1", "--seed", "10", "--size", "200x150", "--force"]
    assert main(args) == 0
    for sub, ext in (("images", "png"), ("labels", "txt"), ("meta", "json")):
        assert sorted(p.name for p in (tmp_path / sub).iterdir()) == [f"000000.{ext}"]
    record = json.loads((tmp_path / "meta" / "000000.json").read_text())
    assert (record["seed"], record["width"]) == (10, 200)
    assert cv2.imread(str(tmp_path / "images" / "000000.png")).shape[:2] == (150, 200)
    assert (tmp_path / "data.yaml").exists() and (tmp_path / "notes.txt").read_text() == "mine"
