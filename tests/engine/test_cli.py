"""``inspector model info|convert`` and ``inspector segment`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from inspector.cli import main
from tests.reference import synthetic_image


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
    assert code == 1 and "--force" in err
    code, text, _ = run_cli(capsys, "model", "info", str(own))
    assert code == 0 and "solder_bridge" in text

    images = []
    for i, (h, w) in enumerate([(240, 320), (300, 200)]):
        path = tmp_path / f"board{i}.png"
        cv2.imwrite(str(path), synthetic_image(h, w, seed=h * w))
        images.append(path)
    out = tmp_path / "out"
    done = cli(
        "segment", *map(str, images), "--model", str(own), "--json", "--save", str(out), "--conf", "0.5"
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in images]
    assert (records[0]["width"], records[0]["height"]) == (320, 240)
    assert set(records[0]["timing_ms"]) == {"preprocess", "inference", "postprocess"}
    instances = [i for r in records for i in r["instances"]]
    assert instances and all(i["mask_area"] > 0 and len(i["box"]) == 4 for i in instances)
    assert (out / "board0_overlay.png").exists()
    masks = sorted(out.glob("board0_mask*.png"))
    assert len(masks) == len(records[0]["instances"])
    first = cv2.imread(str(masks[0]), cv2.IMREAD_GRAYSCALE)
    assert int((first > 0).sum()) == records[0]["instances"][0]["mask_area"]


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
    assert done.returncode == 1
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
