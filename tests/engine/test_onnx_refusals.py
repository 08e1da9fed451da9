"""ONNX files the engine cannot run get one clear error naming the file and what was expected."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import onnx
import pytest

from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.onnx_file import describe_onnx
from inspector.engine.export.onnx import write_onnx
from inspector.engine.export.registry import ExportRequest
from inspector.errors import ModelError
from tests.support.reference import setup_offline


@pytest.fixture(scope="module")
def exported(tiny_seg_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "line.onnx"
    return write_onnx(ExportRequest(tiny_seg_checkpoint, out, (64, 64), None, 1, False, None, None)).path


def refused(path: Path) -> str:
    with pytest.raises(ModelError) as raised:
        load_engine(EngineConfig(model=path, device="cpu", backend="onnxruntime"))
    message = str(raised.value)
    assert str(path) in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_export_is_named(exported: Path, tmp_path: Path, keep: float) -> None:
    data = exported.read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: int(len(data) * keep)])
    message = refused(cut)
    assert "not a complete ONNX model" in message and "truncated" in message
    assert "expected an ONNX segmentation export" in message


def test_every_cut_is_refused_by_the_reader(exported: Path, tmp_path: Path) -> None:
    """Wherever in the header, graph or weights a copy stops, the reader names the file, and never
    raises anything but a ModelError."""
    data = exported.read_bytes()
    cut = tmp_path / "cut.onnx"
    for keep in [*range(1, 64, 7), *range(64, len(data), len(data) // 37), len(data) - 1]:
        cut.write_bytes(data[:keep])
        with pytest.raises(ModelError, match=str(cut)):
            describe_onnx(cut)


def test_garbage_behind_an_onnx_header_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07" + bytes(range(256)) * 8)  # sniffed as ONNX by its first byte
    assert "not a complete ONNX model" in refused(path)


def test_export_without_metadata_is_named(exported: Path, tmp_path: Path) -> None:
    model = onnx.load(str(exported))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    assert "an export without ultralytics metadata; export it with ultralytics (format=onnx)" in refused(bare)


def test_metadata_that_does_not_fit_the_graph_is_named(exported: Path, tmp_path: Path) -> None:
    model = onnx.load(str(exported))
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = str({0: "a", 1: "b"})  # 2 classes in the metadata, 5 in the graph
    wrong = tmp_path / "wrong.onnx"
    onnx.save(model, str(wrong))
    assert "does not fit its metadata's 2 classes" in refused(wrong)


@pytest.mark.parametrize(("yaml", "family"), [("yolov8n.yaml", "YOLOv8"), ("yolo11n.yaml", "YOLO11")])
def test_ultralytics_detection_export_is_refused_by_name(tmp_path: Path, yaml: str, family: str) -> None:
    setup_offline()
    from ultralytics import YOLO

    YOLO(yaml).save(str(tmp_path / "det.pt"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's trace notes
        path = Path(YOLO(str(tmp_path / "det.pt")).export(format="onnx", imgsz=64, verbose=False))
    message = refused(path)
    assert f"a {family} detection model: inspector needs a segmentation model" in message
    with pytest.raises(ModelError, match="detection"):
        describe_onnx(Path(shutil.copy(path, tmp_path / "renamed.bin")))
