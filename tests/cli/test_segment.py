"""``inspector segment`` as ``yolo predict`` is used: folders, quoted globs and videos in; one
annotated image (video) per input out; bad inputs reported one line each while the rest go on.
Real files, the real engine on the tiny checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.cli import main
from tests.support.reference import synthetic_image
from tests.support.terminal import run_on_terminal

ROOT = Path(__file__).resolve().parents[2]


def segment(capsys: pytest.CaptureFixture[str], model: Path, *args: str) -> tuple[int, str, str]:
    code = main(["segment", *args, "--model", str(model), "--device", "cpu", "--conf", "0.3"])
    out, err = capsys.readouterr()
    return code, out, err


def write_video(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 5.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(synthetic_image(size[1], size[0], seed=i))
    writer.release()


def frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), synthetic_image(120, 160, seed=1))
    cv2.imwrite(str(folder / "b.jpg"), synthetic_image(96, 128, seed=2))
    write_video(folder / "c.mp4", 3)
    (folder / "notes.txt").write_text("not an input: skipped in a folder")
    return folder


def test_folder_with_images_and_a_video(
    media: Path, tmp_path: Path, tiny_seg_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, text, err = segment(capsys, tiny_seg_checkpoint, str(media), "--json", "--save", str(out))
    assert code == 0, err
    records = [json.loads(line) for line in text.splitlines()]
    where = [(Path(r["image"]).name, r.get("frame")) for r in records]
    assert where == [("a.png", None), ("b.jpg", None), ("c.mp4", 0), ("c.mp4", 1), ("c.mp4", 2)]
    assert (records[2]["width"], records[2]["height"]) == (160, 120)
    for record in records:
        assert [i["id"] for i in record["instances"]] == list(range(1, len(record["instances"]) + 1))
    assert sorted(p.name for p in out.iterdir()) == ["a_overlay.png", "b_overlay.png", "c_overlay.mp4"]
    assert cv2.imread(str(out / "b_overlay.png")).shape == (96, 128, 3)
    assert frame_count(out / "c_overlay.mp4") == 3
    assert f"saved 3 annotated file(s) to {out}" in err  # stdout holds JSON only


def test_quoted_glob_and_text_lines(
    media: Path, tiny_seg_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, err = segment(capsys, tiny_seg_checkpoint, str(media / "*.png"), str(media / "c.mp4"))
    assert code == 0, err
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].startswith(f"{media / 'a.png'} (160x120): ")
    assert [line.split(" (")[0] for line in lines[1:]] == [f"{media / 'c.mp4'} frame {i}" for i in range(3)]


def test_save_masks_writes_one_label_image_per_image(
    tmp_path: Path, tiny_seg_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, out = tmp_path / "board.png", tmp_path / "out"
    cv2.imwrite(str(image), synthetic_image(240, 320, seed=240 * 320))
    code, text, err = segment(
        capsys, tiny_seg_checkpoint, str(image), "--json", "--save", str(out), "--save-masks"
    )
    assert code == 0, err
    (record,) = [json.loads(line) for line in text.splitlines()]
    assert record["instances"], "the tiny checkpoint finds something in this image"
    assert sorted(p.name for p in out.iterdir()) == ["board_masks.png", "board_overlay.png"]
    labels = cv2.imread(str(out / "board_masks.png"), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (240, 320) and labels.dtype == np.uint8
    assert set(np.unique(labels).tolist()) <= set(range(len(record["instances"]) + 1))
    # instance 1 has the top score: where it overlaps others it keeps its pixels
    assert int((labels == 1).sum()) == record["instances"][0]["mask_area"]
    assert "saved 1 annotated file(s) and 1 mask PNG(s)" in err


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """The sweep's image cases; the reason expected for those that cannot be segmented."""
    folder.mkdir()
    board = synthetic_image(120, 160, seed=3)
    cv2.imwrite(str(folder / "good.png"), board)
    cv2.imwrite(str(folder / "gray.png"), cv2.cvtColor(board, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "rgba.png"), cv2.cvtColor(board, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "deep.png"), board.astype(np.uint16) * 16)  # 12-bit data in 16 bits
    cv2.imwrite(str(folder / "tiny.png"), board[:1, :1])
    cv2.imwrite(str(folder / "huge.png"), np.zeros((8000, 8000, 3), np.uint8))
    (folder / "empty.jpg").write_bytes(b"")
    jpeg = cv2.imencode(".jpg", board)[1].tobytes()
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "text.jpg").write_text("this is not a JPEG\n")
    return {
        "empty.jpg": "empty file (0 bytes)",
        "cut.jpg": "truncated JPEG",
        "text.jpg": "cannot be decoded as an image",
        "huge.png": "8000x8000 is 64.0 MP, over --max-megapixels 40",
    }


def test_bad_inputs_one_line_each_and_the_rest_go_on(
    tmp_path: Path, tiny_seg_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bad"
    refused = write_bad_inputs(folder)
    code, text, err = segment(capsys, tiny_seg_checkpoint, str(folder), "--json")
    assert code == 1  # some input failed
    errors = err.strip().splitlines()
    assert len(errors) == len(refused) and "Traceback" not in err
    for name, reason in refused.items():
        assert any(line.startswith(f"inspector segment: error: {folder / name}: {reason}") for line in errors)
    records = {Path(r["image"]).name: r for r in map(json.loads, text.splitlines())}
    assert set(records) == {"good.png", "gray.png", "rgba.png", "deep.png", "tiny.png", *refused}
    assert {
        name: r["error"].split(" (")[0] for name, r in records.items() if "error" in r
    }.keys() == refused.keys()
    assert records["gray.png"]["converted"] == ["grayscale to BGR"]
    assert records["deep.png"]["converted"] == ["16-bit to 8-bit (12-bit data)"]
    assert (records["tiny.png"]["width"], records["tiny.png"]["height"]) == (1, 1)
    assert (records["rgba.png"]["width"], "converted" in records["good.png"]) == (160, False)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("{image}", "--save-masks"), "--save-masks needs --save DIR"),
        (("{missing}", "{folder}/*.bmp"), "nothing to segment"),
        (("{image}", "--max-megapixels", "0"), "--max-megapixels must be more than 0"),
    ],
)
def test_usage_errors_exit_2_before_the_model_loads(
    tmp_path: Path, args: tuple[str, ...], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), synthetic_image(32, 32, seed=0))
    bad_model = tmp_path / "broken.pt"  # loading it would fail differently
    bad_model.write_text("not a model")
    paths = {"image": str(image), "missing": str(tmp_path / "nope.png"), "folder": str(tmp_path)}
    code, _, err = segment(capsys, bad_model, *(a.format(**paths) for a in args))
    assert code == 2 and needle in err and "Traceback" not in err
    if "nothing" in needle:
        assert f"{tmp_path / 'nope.png'}: does not exist" in err and "*.bmp: matches no files" in err


def test_progress_on_a_terminal_only(media: Path, tiny_seg_checkpoint: Path) -> None:
    args = ["segment", str(media / "c.mp4"), "--model", str(tiny_seg_checkpoint), "--device", "cpu"]
    code, shown = run_on_terminal(args)
    assert code == 0, shown
    assert "\r\x1b[Kloading the model" in shown
    assert "segmenting: input 0/1 (0%)" in shown and "c.mp4 frame 1/3" in shown
    assert "segmenting: input 1/1 (100%)" in shown
    piped = subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert piped.returncode == 0 and piped.stderr == "" and "\r" not in piped.stdout
