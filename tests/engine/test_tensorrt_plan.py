"""TensorRT plan files without TensorRT: the build cache's key and paths, the rebuild decision,
the metadata header (ultralytics' layout) and the refusals a plan gets before TensorRT sees it.
Real files in a temp folder; nothing here needs a GPU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inspector.engine.backends.tensorrt_plan import (
    PlanKey,
    cache_folder,
    cached_plan_state,
    check_plan_gpu,
    check_plan_version,
    encode_plan,
    file_sha256,
    plan_metadata,
    plan_path,
    read_header,
    read_plan_metadata,
    ready_rows,
    release,
    write_plan,
)
from inspector.engine.formats import FileKind, sniff
from inspector.errors import ModelError

KEY = PlanKey("NVIDIA H100 80GB HBM3", "9.0", "10.13.0.35", "ab" * 32, (1, 3, 480, 640), "fp16")
PLAN = b"\x00ftrt" + bytes(range(256)) * 4  # stands for the serialized engine: opaque bytes


def ultralytics_header(**changes: Any) -> dict[str, Any]:
    """What ultralytics 8.4 writes ahead of a segmentation engine (``format=engine``)."""
    meta = {
        "description": "Ultralytics YOLO11n-seg model trained on data.yaml",
        "author": "Ultralytics",
        "version": "8.4.0",
        "task": "segment",
        "stride": 32,
        "batch": 1,
        "imgsz": [160, 160],
        "names": {"0": "good_joint", "1": "solder_bridge"},
        "args": {"batch": 1, "half": True, "dynamic": False, "nms": False},
        "channels": 3,
        "end2end": False,
    }
    return {**meta, **changes}


def engine_file(path: Path, meta: dict[str, Any]) -> Path:
    path.write_bytes(encode_plan(meta, PLAN))
    return path


def test_the_key_changes_with_everything_a_plan_is_only_valid_for() -> None:
    changed = [
        replace(KEY, gpu="NVIDIA L4"),
        replace(KEY, compute_capability="8.9"),
        replace(KEY, tensorrt="10.14.1.48"),
        replace(KEY, onnx_sha256="cd" * 32),
        replace(KEY, input_shape=(1, 3, 640, 640)),
        replace(KEY, input_shape=(8, 3, 480, 640)),
        replace(KEY, precision="fp32"),
    ]
    digests = {KEY.digest(), *(key.digest() for key in changed)}
    assert len(digests) == len(changed) + 1
    assert KEY.digest() == replace(KEY).digest()  # stable: the same key finds the same file
    model = Path("/lines/a/best.onnx")
    paths = {plan_path(model, None, key) for key in (KEY, *changed)}
    assert len(paths) == len(changed) + 1
    assert plan_path(model, None, KEY).parent == Path("/lines/a/best.onnx.tensorrt")
    assert plan_path(model, Path("/var/cache/plans"), KEY).parent == Path("/var/cache/plans")
    assert plan_path(model, None, KEY).name.startswith("best.fp16.b1.480x640.")
    assert cache_folder(model, None) == Path("/lines/a/best.onnx.tensorrt")


def test_a_cached_plan_is_used_only_for_its_exact_key(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "best.fp16.engine"
    assert cached_plan_state(path, KEY) == "missing"
    write_plan(path, plan_metadata(ultralytics_header(), KEY, "inspector 0.1.0"), PLAN)
    assert cached_plan_state(path, KEY) == "ok"
    for other in (
        replace(KEY, tensorrt="10.14.1.48"),
        replace(KEY, gpu="NVIDIA L4"),
        replace(KEY, precision="fp32"),
    ):
        assert cached_plan_state(path, other) == "stale"  # rebuilt, never loaded
    path.write_bytes(b"\x00\x00")  # a torn file from some other writer
    assert cached_plan_state(path, KEY) == "unreadable"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_an_inspector_plan_carries_ultralytics_keys_and_what_it_is_valid_for(tmp_path: Path) -> None:
    path = tmp_path / "best.engine"
    write_plan(
        path, plan_metadata(ultralytics_header(), replace(KEY, precision="fp32"), "inspector 0.1.0"), PLAN
    )
    offset, raw, meta = read_plan_metadata(path)
    assert path.read_bytes()[offset:] == PLAN
    assert meta.names == ("good_joint", "solder_bridge") and meta.imgsz == (480, 640) and meta.batch == 1
    assert raw["tensorrt"] == "10.13.0.35" and raw["gpu"] == KEY.gpu and raw["compute_capability"] == "9.0"
    assert (
        raw["precision"] == "fp32" and raw["args"]["half"] is False and raw["exporter"] == "inspector 0.1.0"
    )
    assert raw["plan_key"]["onnx_sha256"] == KEY.onnx_sha256
    assert sniff(path) is FileKind.TENSORRT
    assert len(file_sha256(path)) == 64


def test_an_ultralytics_engine_header_reads_through_the_shared_metadata(tmp_path: Path) -> None:
    path = engine_file(tmp_path / "yolo11n-seg.engine", ultralytics_header())
    offset, raw, meta = read_plan_metadata(path)
    assert (offset, meta.stride, meta.imgsz, meta.end2end) == (
        4 + len(json.dumps(raw)),
        32,
        (160, 160),
        False,
    )
    assert meta.names == ("good_joint", "solder_bridge")
    check_plan_version(path, raw, "10.13.0.35")  # ultralytics records no TensorRT version: TensorRT checks
    check_plan_gpu(path, raw, "NVIDIA L4", "8.9")  # nor a GPU


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task": "detect"}, r"a YOLO11 detection model: inspector needs a segmentation model"),
        ({"task": "pose", "description": "Ultralytics YOLOv8n-pose"}, r"a YOLOv8 pose model"),
        ({"args": {"nms": True}}, r"exported with nms=True"),
        ({"imgsz": "big"}, r"export metadata is malformed"),
    ],
)
def test_engines_inspector_cannot_run_are_refused_by_name(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = engine_file(tmp_path / "other.engine", ultralytics_header(**changes))
    with pytest.raises(ModelError, match=message) as caught:
        read_plan_metadata(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"no metadata header"),
        (b'\x10\x00\x00\x00{"task"', r"no metadata header"),  # length beyond the file: truncated
        (b"\x05\x00\x00\x00{abc}" + PLAN, r"not a TensorRT plan with a metadata header"),
        (b"\x02\x00\x00\x00[]" + PLAN, r"not a JSON object"),
        (encode_plan(ultralytics_header(), b""), r"followed by no engine"),
    ],
)
def test_damaged_engine_files_name_the_file_and_what_was_expected(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "damaged.engine"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as caught:
        read_header(path)
    assert str(path) in str(caught.value)


def test_a_plan_for_another_tensorrt_release_is_refused_naming_both_and_how_to_rebuild(
    tmp_path: Path,
) -> None:
    path = tmp_path / "best.engine"
    raw = plan_metadata(ultralytics_header(), KEY, "inspector 0.1.0")
    check_plan_version(path, raw, "10.13.0.40")  # another build of the same release loads
    with pytest.raises(ModelError) as caught:
        check_plan_version(path, raw, "10.14.1.48")
    text = str(caught.value)
    assert "TensorRT 10.13.0.35" in text and "TensorRT 10.14.1.48 is installed" in text
    assert "inspector model export SRC --format tensorrt" in text and str(path) in text


def test_a_plan_for_another_gpu_is_refused_naming_both(tmp_path: Path) -> None:
    raw = plan_metadata(ultralytics_header(), KEY, "inspector 0.1.0")
    check_plan_gpu(tmp_path / "best.engine", raw, KEY.gpu, "9.0")
    with pytest.raises(
        ModelError, match=r"built for NVIDIA H100 80GB HBM3 \(compute 9.0\).*this GPU is NVIDIA L4"
    ):
        check_plan_gpu(tmp_path / "best.engine", raw, "NVIDIA L4", "8.9")


def test_release_and_ready_rows() -> None:
    assert release("10.13.0.35") == (10, 13, 0) == release("10.13.0.post1")
    assert release("11.4.0.106") != release("10.4.0")
    nc, nm = 5, 32
    assert ready_rows((1, 300, 6 + nm), (1, nm, 40, 40), nc, end2end=True)  # YOLO26 nms=False rows
    assert not ready_rows((1, 4 + nc + nm, 2100), (1, nm, 40, 40), nc, end2end=True)  # one-to-one head out
    assert not ready_rows((1, 4 + nc + nm, 2100), (1, nm, 40, 40), nc, end2end=False)


def test_an_ultralytics_onnx_exports_metadata_makes_a_readable_plan_header(
    tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    """What a plan built from a user's ONNX file carries: the file's own metadata (read without
    TensorRT) plus the key, read back as every plan is."""
    import shutil
    import warnings

    from inspector.engine.backends.tensorrt_build import onnx_facts
    from tests.support.reference import yolo

    source = shutil.copy(tiny_seg_checkpoint, tmp_path / "best.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer notes
        onnx = Path(yolo(source).export(format="onnx", imgsz=96, simplify=False, verbose=False))
    facts = onnx_facts(onnx)
    assert facts.input_shape == (1, 3, 96, 96) and not facts.fp16_input
    key = replace(KEY, onnx_sha256=file_sha256(onnx), input_shape=facts.input_shape)
    plan = plan_path(onnx, None, key)
    write_plan(plan, plan_metadata(facts.metadata, key, "inspector 0.1.0"), PLAN)
    _, raw, meta = read_plan_metadata(plan)
    assert meta.names == facts.info.names and meta.imgsz == (96, 96) and meta.stride == 32
    assert raw["plan_key"] == key.as_dict() and cached_plan_state(plan, key) == "ok"
    assert plan.parent == tmp_path / "best.onnx.tensorrt"
