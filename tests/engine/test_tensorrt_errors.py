"""What the TensorRT backend and exporter say before TensorRT runs: on a CPU, without the extra,
about an ONNX file's metadata and input. These run on any machine (no CUDA, no TensorRT)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from inspector.engine.backends.registry import BACKENDS, open_network
from inspector.engine.backends.tensorrt_build import onnx_facts
from inspector.engine.backends.tensorrt_plan import encode_plan
from inspector.engine.config import EngineConfig
from inspector.engine.export.registry import EXPORTERS, ExportRequest
from inspector.errors import ModelError


def onnx_file(path: Path, dims: list[int | str], fp16: bool = False) -> Path:
    """An ONNX graph with a segmentation export's signature (input ``images``, outputs predictions
    (B, 4+2+32, A) and prototypes (B, 32, h/4, w/4)) and ultralytics-style metadata (``str()``
    values). The outputs are constants: what is read here is the file, not what it computes."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    elem = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    dtype = np.float16 if fp16 else np.float32
    preds, protos = np.zeros((1, 38, 126), dtype), np.zeros((1, 32, 16, 24), dtype)
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["output0"], value=numpy_helper.from_array(preds)),
            helper.make_node("Constant", [], ["output1"], value=numpy_helper.from_array(protos)),
        ],
        "g",
        [helper.make_tensor_value_info("images", elem, dims)],
        [
            helper.make_tensor_value_info("output0", elem, list(preds.shape)),
            helper.make_tensor_value_info("output1", elem, list(protos.shape)),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in {
        "task": "segment",
        "stride": 32,
        "imgsz": [64, 96],
        "names": {0: "good_joint", 1: "solder_bridge"},
        "args": {"batch": 1, "half": False, "nms": False},
        "end2end": False,
        "description": "Ultralytics YOLO11n-seg model",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, str(path))
    return path


def test_tensorrt_is_registered_as_a_backend_and_an_exporter() -> None:
    assert "tensorrt" in BACKENDS and "tensorrt" in EXPORTERS


@pytest.mark.parametrize("kind", ["onnx", "engine"])
def test_a_cpu_device_is_refused_saying_tensorrt_needs_a_cuda_gpu(tmp_path: Path, kind: str) -> None:
    model = tmp_path / f"best.{kind}"
    if kind == "onnx":
        onnx_file(model, [1, 3, 64, 96])
    else:
        model.write_bytes(encode_plan({"task": "segment"}, b"plan"))
    config = EngineConfig(model=model, backend="tensorrt", device="cpu")
    with pytest.raises(ModelError, match=r"TensorRT needs a CUDA GPU, and engine.device is cpu"):
        open_network(model, config, torch.device("cpu"))


def test_without_the_extra_the_error_names_inspector_tensorrt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # an uninstalled tensorrt, also where it is installed
    model = onnx_file(tmp_path / "best.onnx", [1, 3, 64, 96])
    config = EngineConfig(model=model, backend="tensorrt", device="cuda")
    with pytest.raises(ModelError, match=r"pip install 'inspector\[tensorrt\]'"):
        BACKENDS["tensorrt"](model, config, torch.device("cuda"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_exporting_a_plan_without_a_gpu_says_why_and_what_to_do(tmp_path: Path) -> None:
    request = ExportRequest(
        source=tmp_path / "best.pt",
        output=tmp_path / "best.engine",
        imgsz=None,
        frame=None,
        batch=1,
        half=True,
        int8_calib=None,
        end2end=None,
    )
    with pytest.raises(ModelError, match=r"needs a CUDA GPU here.*export --format onnx"):
        EXPORTERS["tensorrt"](request)
    assert not request.output.exists()


def test_an_onnx_files_metadata_and_fixed_input_are_read_without_tensorrt(tmp_path: Path) -> None:
    facts = onnx_facts(onnx_file(tmp_path / "best.onnx", [1, 3, 64, 96]))
    assert facts.input_shape == (1, 3, 64, 96) and not facts.fp16_input
    assert facts.metadata["names"] == {0: "good_joint", 1: "solder_bridge"}
    assert facts.metadata["imgsz"] == [64, 96] and facts.metadata["end2end"] is False
    assert onnx_facts(onnx_file(tmp_path / "half.onnx", [8, 3, 64, 96], fp16=True)).fp16_input
    assert (facts.info.arch, facts.info.scale, facts.info.names) == (
        "yolo11-seg",
        "n",
        ("good_joint", "solder_bridge"),
    )


def test_a_dynamic_onnx_export_gets_its_metadatas_size_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    dynamic = onnx_file(tmp_path / "dynamic.onnx", ["batch", 3, "height", "width"])
    assert onnx_facts(dynamic).input_shape == (1, 3, 64, 96)  # metadata imgsz [64, 96]: one plan shape
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(dynamic.read_bytes()[:40])
    with pytest.raises(ModelError, match=r"truncated.onnx: not a complete ONNX model"):
        onnx_facts(truncated)
