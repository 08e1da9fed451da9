"""``inspector model info|convert`` and ``inspector segment`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
import torch

from inspector.cli import main
from tests.support.reference import build_checkpoint, synthetic_image


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in-process (fast); exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=180, env=env
    )


def test_model_info_json(tiny_seg_checkpoint: Path) -> None:
    done = cli("model", "info", str(tiny_seg_checkpoint), "--json")  # once as a real process
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["format"] == "ultralytics" and info["scale"] == "n" and info["nc"] == 5
    assert info["names"][1] == "solder_bridge" and info["imgsz"] == [320, 320] and info["stride"] == 32
    assert isinstance(info["params"], int) and info["params"] > 3_000_000


def test_convert_then_info_and_segment(
    tmp_path: Path, tiny_seg_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "line3.pt"
    code, _, err = run_cli(capsys, "model", "convert", str(tiny_seg_checkpoint), str(own))
    assert code == 0, err
    assert torch.load(own, weights_only=True)["format"] == "inspector.yolov8-seg"
    assert json.loads(run_cli(capsys, "model", "info", str(own), "--json")[1])["format"] == "inspector"
    code, _, err = run_cli(capsys, "model", "convert", str(tiny_seg_checkpoint), str(own))
    assert code == 2 and "--force" in err
    code, text, _ = run_cli(capsys, "model", "info", str(own))
    assert code == 0 and "solder_bridge" in text

    images = []
    for i, (h, w) in enumerate([(240, 320), (300, 200)]):
        path = tmp_path / f"board{i}.png"
        cv2.imwrite(str(path), synthetic_image(h, w, seed=h * w))
        images.append(path)
    out = tmp_path / "out"
    done = cli(
        "segment",
        *map(str, images),
        "--model",
        str(own),
        "--json",
        "--save",
        str(out),
        "--conf",
        "0.5",
        "--save-masks",
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in images]
    assert (records[0]["width"], records[0]["height"]) == (320, 240)
    assert set(records[0]["timing_ms"]) == {"preprocess", "inference", "postprocess"}
    instances = [i for r in records for i in r["instances"]]
    assert instances and all(i["mask_area"] > 0 and len(i["box"]) == 4 for i in instances)
    names = torch.load(own, weights_only=True)["names"]
    for instance in instances:
        assert isinstance(instance["class_id"], int) and 0 <= instance["class_id"] < len(names)
        assert instance["name"] == names[instance["class_id"]]
        assert isinstance(instance["score"], float) and 0.5 < instance["score"] <= 1.0
    scores = [i["score"] for i in records[0]["instances"]]
    assert scores == sorted(scores, reverse=True)
    # one overlay and one instance-label PNG per image, not one file per instance
    assert sorted(p.name for p in out.iterdir()) == [
        "board0_masks.png",
        "board0_overlay.png",
        "board1_masks.png",
        "board1_overlay.png",
    ]
    labels = cv2.imread(str(out / "board0_masks.png"), cv2.IMREAD_UNCHANGED)
    assert int((labels == 1).sum()) == records[0]["instances"][0]["mask_area"]
    assert f"saved 2 annotated file(s) and 2 mask PNG(s) to {out}" in done.stderr


@pytest.mark.parametrize(("family", "one_to_one"), [("yolo11", False), ("yolo26", False), ("yolo26", True)])
def test_families_info_convert_and_segment(
    tmp_path: Path,
    family_checkpoint: Callable[[str, bool], Path],
    capsys: pytest.CaptureFixture[str],
    family: str,
    one_to_one: bool,
) -> None:
    source = family_checkpoint(family, one_to_one)
    code, out, err = run_cli(capsys, "model", "info", str(source), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["arch"], info["end2end"], info["scale"], info["nc"]) == (f"{family}-seg", one_to_one, "n", 5)
    own = tmp_path / "line3.pt"
    code, out, err = run_cli(capsys, "model", "convert", str(source), str(own))
    assert code == 0 and f"({family}-seg n, 5 classes" in out, err
    code, text, _ = run_cli(capsys, "model", "info", str(own))
    assert code == 0 and f"{family}-seg" in text
    converted = json.loads(run_cli(capsys, "model", "info", str(own), "--json")[1])
    assert {**converted, "file": "", "format": "", "converted_from": ""} == {
        **info,
        "file": "",
        "format": "",
        "converted_from": "",
    }
    image = tmp_path / "board.png"
    cv2.imwrite(str(image), synthetic_image(240, 320, seed=240 * 320))
    code, out, err = run_cli(capsys, "segment", str(image), "--model", str(own), "--json", "--conf", "0.1")
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["instances"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("model", "info", "{bad}"), "not a torch zip archive"),
        (("model", "info", "{missing}"), "does not exist"),
        (("segment", "{missing}", "--model", "{bad}"), "does not exist"),
        (("segment", "{image}", "--model", "{bad}"), "not a torch zip archive"),
        (("segment", "{image}", "--model", "{bad}", "--conf", "3"), "conf"),
    ],
)
def test_user_errors_are_one_line(
    tmp_path: Path, args: tuple[str, ...], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "best.pt"
    bad.write_text("not a model")
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), synthetic_image(64, 64, seed=1))
    paths = {"bad": str(bad), "missing": str(tmp_path / "nope.pt"), "image": str(image)}
    code, _, err = run_cli(capsys, *(a.format(**paths) for a in args))
    assert code in (1, 2)
    assert needle in err and len(err.strip().splitlines()) <= 3


def test_bad_model_file_prints_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    done = cli("model", "info", str(bad))
    assert done.returncode == 2
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_odd_class_names_and_shared_stems_do_not_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("via/hole", "solder bridge", "a:b*c", "ok", "..")
    model = build_checkpoint(tmp_path / "odd-names.pt", nc=len(names), names=names, seed=2, imgsz=256)
    images = []
    for folder, ext in (("a", "png"), ("b", "png"), ("a", "bmp")):
        path = tmp_path / folder / f"board.{ext}"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), synthetic_image(200, 240, seed=len(images) + 11))
        images.append(path)
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys,
        "segment",
        *map(str, images),
        "--model",
        str(model),
        "--json",
        "--save",
        str(out),
        "--save-masks",
        "--conf",
        "0.3",
        "--device",
        "cpu",
    )
    assert code == 0, err
    records = [json.loads(line) for line in stdout.splitlines()]
    found = {i["name"] for r in records for i in r["instances"]}
    assert found & {"via/hole", "solder bridge", "a:b*c", ".."}, found  # names that are no file names
    assert sorted(p.name for p in out.glob("*_overlay.png")) == [
        "board_2_overlay.png",
        "board_3_overlay.png",
        "board_overlay.png",
    ]
    # class names never reach a file name: masks are one instance-label PNG per image
    masks = sorted(p.name for p in out.glob("*_masks.png"))
    assert masks == ["board_2_masks.png", "board_3_masks.png", "board_masks.png"]
    for stem, record in zip(("board", "board_2", "board_3"), records, strict=True):
        labels = cv2.imread(str(out / f"{stem}_masks.png"), cv2.IMREAD_UNCHANGED)
        assert int(labels.max()) <= len(record["instances"])  # nothing overwritten by another image
        if record["instances"]:
            assert int((labels == 1).sum()) == record["instances"][0]["mask_area"]
