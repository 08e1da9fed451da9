"""``inspector segment --prompt-box/--prompt-point``: the FastSAM-style prompt step on the CLI
(real image file, the real engine on the tiny checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from inspector.cli import main
from tests.support.reference import synthetic_image


def instances(capsys: pytest.CaptureFixture[str], model: Path, image: Path, *args: str) -> list[dict]:
    code = main(["segment", str(image), "--json", "--model", str(model), "--device", "cpu", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    return list(record["instances"])


def test_box_and_point_prompts_select_instances(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    image = tmp_path / "board.png"
    cv2.imwrite(str(image), synthetic_image(240, 320, seed=3))
    everything = instances(capsys, tiny_seg_checkpoint, image)
    assert len(everything) >= 3
    box = ",".join(str(v) for v in everything[1]["box"])
    (picked,) = instances(capsys, tiny_seg_checkpoint, image, "--prompt-box", box)
    assert picked["box"] == everything[1]["box"]
    far = instances(capsys, tiny_seg_checkpoint, image, "--prompt-point", "0,0,0")
    assert 0 < len(far) <= len(everything)  # all-background points keep what they do not touch


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--prompt-box", "1,2,3"),
        ("--prompt-box", "a,b,c,d"),
        ("--prompt-point", "5,5,2"),
        ("--prompt-point", "5"),
    ],
)
def test_malformed_prompt_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", "x.png", "--model", str(tiny_seg_checkpoint), option, value])
    assert exit_info.value.code == 2
    assert value in capsys.readouterr().err


def test_model_info_notes_that_a_one_class_yolov8_seg_may_be_fastsam(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.support.reference import build_checkpoint

    path = build_checkpoint(tmp_path / "FastSAM-s.pt", scale="n", nc=1, names=("object",), imgsz=256)
    assert main(["model", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["arch"], info["names"]) == ("yolov8-seg", ["object"])
    assert "FastSAM" in info["note"]
    renamed = path.rename(tmp_path / "line3.pt")  # the file name plays no part
    assert main(["model", "info", str(renamed)]) == 0
    assert "FastSAM" in capsys.readouterr().out
