"""``inspector model export --format onnx``: a fixed-shape graph of the Network contract, with
ultralytics-style metadata, checked against the source model when written."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from inspector.cli import main
from inspector.engine.export.onnx import OUTPUT_NAMES
from inspector.engine.letterbox import rect_input
from tests.support.reference import setup_offline


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["model", "export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def metadata_of(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def shapes_of(path: Path) -> dict[str, tuple[int, ...]]:
    graph = onnx.load(str(path)).graph
    return {
        v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
        for v in [*graph.input, *graph.output]
    }


@pytest.mark.parametrize(
    ("frame_hw", "side"),
    [((480, 640), 640), ((1080, 1920), 640), ((1200, 1600), 320), ((1000, 300), 640), ((77, 77), 160)],
)
def test_rect_input_is_ultralytics_rect_letterbox(frame_hw: tuple[int, int], side: int) -> None:
    setup_offline()
    from ultralytics.data.augment import LetterBox

    frame = np.zeros((*frame_hw, 3), dtype=np.uint8)
    boxed = LetterBox(new_shape=(side, side), auto=True, stride=32)(image=frame)
    assert rect_input(frame_hw, side, 32) == boxed.shape[:2]


def test_export_prints_the_check_and_writes_ultralytics_metadata(
    tiny_seg_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "line.onnx"
    code, text, err = export(
        capsys, str(tiny_seg_checkpoint), "--format", "onnx", "-o", str(out), "--imgsz", "128"
    )
    assert code == 0, err
    found = re.search(r"max abs diff of raw outputs vs the source model: (\S+)", text)
    assert found and float(found.group(1)) < 1e-3, text
    assert "yolov8-seg n, 128x128, batch 1, f32" in text
    onnx.checker.check_model(onnx.load(str(out)))
    meta = metadata_of(out)
    assert ast.literal_eval(meta["names"])[1] == "solder_bridge"
    assert ast.literal_eval(meta["imgsz"]) == [128, 128] and meta["stride"] == "32" and meta["batch"] == "1"
    assert (
        meta["task"] == "segment" and meta["end2end"] == "False" and meta["exporter"].startswith("inspector ")
    )
    assert meta["description"].startswith("inspector export of YOLOv8n-seg")
    anchors = 16 * 16 + 8 * 8 + 4 * 4
    assert shapes_of(out) == {
        "images": (1, 3, 128, 128),
        "output0": (1, 4 + 5 + 32, anchors),
        "output1": (1, 32, 32, 32),
    }
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, then replaced

    code, _, err = export(capsys, str(tiny_seg_checkpoint), "--format", "onnx", "-o", str(out))
    assert code == 2 and "--force" in err


def test_frame_gives_a_rectangular_input_and_batch(
    tiny_seg_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rect.onnx"
    args = ["--format", "onnx", "-o", str(out), "--imgsz", "160", "--frame", "640x480", "--batch", "2"]
    code, text, err = export(capsys, str(tiny_seg_checkpoint), *args)
    assert code == 0, err
    assert "128x160, batch 2" in text  # 4:3 at a long side of 160: 120 rows, padded to 128
    assert shapes_of(out)["images"] == (2, 3, 128, 160)
    assert ast.literal_eval(metadata_of(out)["imgsz"]) == [128, 160]

    code = main(["model", "info", str(out), "--json"])
    text, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(text)
    assert info["format"] == "onnx" and info["backend"] == "onnxruntime" and info["imgsz"] == [128, 160]
    assert info["arch"] == "yolov8-seg" and info["names"][1] == "solder_bridge" and info["fixed_imgsz"]


def test_yolo26_end_to_end_export_keeps_the_contract(
    family_checkpoint: Callable[[str, bool], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "y26.onnx"
    source = family_checkpoint("yolo26", False)
    code, text, err = export(
        capsys, str(source), "--format", "onnx", "-o", str(out), "--imgsz", "96", "--end2end", "true"
    )
    assert code == 0, err
    assert float(text.rsplit(":", 1)[1]) < 1e-3
    meta = metadata_of(out)
    assert meta["end2end"] == "True" and meta["head"] == "Segment26"
    assert meta["description"].startswith("inspector export of YOLO26n-seg")
    # the one-to-one head's decoded output (xyxy), not ultralytics' 300 ready rows
    assert shapes_of(out)[OUTPUT_NAMES[0]] == (1, 4 + 5 + 32, 12 * 12 + 6 * 6 + 3 * 3)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # ultralytics' TorchScript export fixture
def test_exports_are_refused_as_sources(
    tiny_seg_checkpoint: Path,
    torchscript_export: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = tmp_path / "first.onnx"
    assert (
        export(capsys, str(tiny_seg_checkpoint), "--format", "onnx", "-o", str(first), "--imgsz", "64")[0]
        == 0
    )
    code, _, err = export(capsys, str(first), "--format", "onnx", "-o", str(tmp_path / "again.onnx"))
    assert code == 2 and "an ONNX model, already an export" in err and "Traceback" not in err
    code, _, err = export(
        capsys, str(torchscript_export), "--format", "onnx", "-o", str(tmp_path / "ts.onnx")
    )
    assert code == 2 and "a TorchScript export" in err
    assert not (tmp_path / "ts.onnx").exists() and not (tmp_path / "again.onnx").exists()
    code, _, err = export(
        capsys, str(tiny_seg_checkpoint), "--format", "onnx", "-o", str(first), "--half", "--force"
    )
    assert code == 2 and "writes float32 only" in err


def test_the_line_config_gives_the_frame(
    tiny_seg_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = tmp_path / "line.yaml"
    line.write_text("sources:\n  - {kind: synthetic, id: cam0, width: 640, height: 480}\nplc: {role: off}\n")
    out = tmp_path / "line.onnx"
    code, _, err = export(
        capsys,
        str(tiny_seg_checkpoint),
        "--format",
        "onnx",
        "-o",
        str(out),
        "--imgsz",
        "160",
        "--config",
        str(line),
    )
    assert code == 0, err
    assert shapes_of(out)["images"] == (1, 3, 128, 160)  # the 4:3 frame's rectangle, as --frame 640x480

    line.write_text(
        "sources:\n  - {kind: synthetic, id: a, width: 640, height: 480}\n"
        "  - {kind: synthetic, id: b, width: 800, height: 600}\nplc: {role: off}\n"
    )
    code, _, err = export(
        capsys, str(tiny_seg_checkpoint), "--format", "onnx", "-o", str(out), "--config", str(line)
    )
    assert code == 2 and "sources.0 640x480, sources.1 800x600" in err
