"""``inspector model export --format openvino``: an IR with inspector's metadata, checked against
the source at export time; fp16 weights with --half; int8 with NNCF on the line's own images."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cv2
import pytest
import torch

from inspector.cli import main
from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.openvino import open_openvino
from inspector.engine.backends.openvino_model import import_openvino, rt_info_metadata
from inspector.errors import ModelError
from inspector.logging import LogConfig, configure_logging
from tests.support.logs import LogCapture
from tests.support.reference import synthetic_image

SIDE = "128"
DIFF = re.compile(r"max abs diff of raw outputs vs the source model: ([0-9.e+-]+)")


def export(capsys: pytest.CaptureFixture[str], source: Path, out: Path, *extra: str) -> tuple[int, str]:
    code = main(["model", "export", str(source), "--format", "openvino", "-o", str(out), *extra])
    printed, err = capsys.readouterr()
    return code, printed + err


def test_export_writes_an_ir_with_metadata_and_reports_its_diff(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "line.xml"
    code, printed = export(capsys, tiny_seg_checkpoint, out, "--imgsz", SIDE)
    assert code == 0, printed
    assert out.is_file() and out.with_suffix(".bin").is_file()
    assert "yolov8-seg n, 128x128, batch 1, f32 weights" in printed
    diff = float(DIFF.search(printed).group(1))  # type: ignore[union-attr]
    assert diff < 1e-2  # box pixels are the largest raw values
    ov = import_openvino()  # as the backend does: without OpenVINO's telemetry
    meta = rt_info_metadata(ov.Core().read_model(str(out)))
    assert meta["exporter"] == "inspector 0.1.0" and meta["task"] == "segment"
    assert meta["imgsz"] == [128, 128] and meta["names"][4] == "missing_joint"
    engine = load_engine(EngineConfig(model=out, device="cpu"))  # auto: an IR runs on OpenVINO
    assert (engine.info.format, engine.info.imgsz, engine.info.scale) == ("openvino", (128, 128), "n")


def test_a_rectangular_input_equals_torch_on_frames_it_fits(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rect.xml"
    code, printed = export(capsys, tiny_seg_checkpoint, out, "--frame", "320x200")  # the camera's WxH
    assert code == 0 and "224x320" in printed, printed  # long side at the trained 320, 200 padded to 224
    rect = load_engine(EngineConfig(model=out, device="cpu", conf=0.25))
    assert rect.imgsz == (224, 320)
    # torch letterboxes a lone 200x320 frame at 320 to exactly 224x320, as ultralytics' rect predict
    square = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.25, imgsz=320))
    total = 0
    for seed in (1, 3, 5):  # images on which no score saturates to a tie at 1.0
        image = synthetic_image(200, 320, seed=seed)
        (a,), (b,) = rect.infer([image]), square.infer([image])
        assert len(a) == len(b) and torch.equal(a.class_ids, b.class_ids)
        assert len(a) == 0 or float((a.boxes - b.boxes).abs().max()) <= 1.0
        total += len(a)
    assert total >= 10


def test_half_stores_fp16_weights_that_run_at_f32(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "half.xml"
    code, printed = export(capsys, tiny_seg_checkpoint, out, "--imgsz", SIDE, "--half")
    assert code == 0 and "f16 weights" in printed, printed
    assert float(DIFF.search(printed).group(1)) < 0.5  # type: ignore[union-attr]
    network = open_openvino(out, EngineConfig(device="cpu"), torch.device("cpu"))
    assert network.info.weights_dtype == "f16"


def write_calibration(folder: Path, count: int = 8) -> Path:
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"board{i}.png"), synthetic_image(120 + 8 * i, 160, seed=i))
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.mark.slow
def test_int8_export_runs_as_int8_behind_its_f32_reference(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path, logs: LogCapture
) -> None:
    calib = write_calibration(tmp_path / "calib")
    out = tmp_path / "int8.xml"
    code, printed = export(capsys, tiny_seg_checkpoint, out, "--imgsz", SIDE, "--int8", "--calib", str(calib))
    assert code == 0 and "int8 weights" in printed, printed
    assert (tmp_path / "int8-f32.xml").is_file()  # what the start-up check compares with
    configure_logging(LogConfig(format="json", level="debug"), stream=logs.stream)  # the CLI quieted it
    int8 = {"precision": "int8", "check_iou": 0.0}
    engine = load_engine(EngineConfig(model=out, device="cpu", openvino=int8))
    assert engine.info.weights_dtype == "int8" and engine.infer([synthetic_image(120, 160, seed=9)])
    try:  # checked against the f32 IR: it starts exactly when it clears check_iou
        load_engine(EngineConfig(model=out, device="cpu", openvino={"precision": "int8", "check_iou": 0.5}))
    except ModelError as exc:
        assert "openvino int8: the start-up check against f32 failed" in str(exc)
    else:
        assert logs.events("openvino_compiled")[-1]["worst_mask_iou"] >= 0.5
    with pytest.raises(ModelError, match=r"is quantised \(int8\) and runs int8 whatever the hint"):
        load_engine(EngineConfig(model=out, device="cpu"))  # f32 asked: refused, not silently int8
    (tmp_path / "int8-f32.xml").unlink()
    with pytest.raises(ModelError, match=r"without its f32 reference int8-f32\.xml"):
        load_engine(EngineConfig(model=out, device="cpu", openvino={"precision": "int8"}))


def test_int8_without_nncf_names_the_extra(
    capsys: pytest.CaptureFixture[str],
    tiny_seg_checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "nncf", None)  # as if the int8 extra were not installed
    calib = write_calibration(tmp_path / "calib", count=1)
    code, printed = export(capsys, tiny_seg_checkpoint, tmp_path / "x.xml", "--int8", "--calib", str(calib))
    assert code == 2 and "pip install 'inspector[int8]'" in printed
    assert not (tmp_path / "x.xml").exists()


def test_bad_requests_are_one_clear_line(
    capsys: pytest.CaptureFixture[str], tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, printed = export(capsys, tiny_seg_checkpoint, tmp_path / "e.xml", "--int8", "--calib", str(empty))
    assert code == 2 and f"--calib {empty}: no readable images" in printed
    assert "Traceback" not in printed
