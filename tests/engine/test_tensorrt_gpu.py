"""TensorRT on a GPU: plans built from ONNX at first start, cached and rebuilt by key; parity with
the torch backend; fp16 checked against fp32; ultralytics' .engine files; inspector's own export.

Everything here needs CUDA and TensorRT: marked ``gpu`` and skipped elsewhere, saying so.
tests/gpu/run.sh runs them on a GPU machine. Small on purpose: imgsz 160, the tiny n checkpoint.
"""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.options import TensorRtOptions
from inspector.engine.backends.tensorrt import open_tensorrt
from inspector.engine.backends.tensorrt_plan import read_header, write_plan
from inspector.engine.engine import Engine
from inspector.engine.export.registry import EXPORTERS, ExportRequest
from inspector.engine.runner import open_torch
from inspector.errors import ModelError
from inspector.messages import Detections
from tests.support.reference import as_batch, assert_same_detections, synthetic_image, yolo

HAVE_TENSORRT = torch.cuda.is_available() and importlib.util.find_spec("tensorrt") is not None
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not HAVE_TENSORRT,
        reason="needs CUDA and TensorRT (a GPU machine with inspector[tensorrt]: tests/gpu/run.sh)",
    ),
]
CUDA = torch.device("cuda", 0)
IMGSZ = 160


@pytest.fixture(scope="module")
def source(tiny_seg_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copy(tiny_seg_checkpoint, tmp_path_factory.mktemp("trt") / "best.pt"))


@pytest.fixture(scope="module")
def onnx_export(source: Path) -> Path:
    """The tiny checkpoint exported by ultralytics (``format=onnx``, imgsz 160, fixed shape)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer notes
        return Path(yolo(source).export(format="onnx", imgsz=IMGSZ, simplify=False, verbose=False))


def trt_config(model: Path, cache: Path, **settings: object) -> EngineConfig:
    options = TensorRtOptions(cache_dir=cache, **settings)  # type: ignore[arg-type]
    return EngineConfig(model=model, backend="tensorrt", device="cuda", conf=0.25, tensorrt=options)


def square_frames() -> list[np.ndarray]:
    """Square frames: scaled to 160x160 with no padding, so a fixed-size plan and the torch
    backend's minimal letterbox see the same input."""
    return [synthetic_image(side, side, seed=side) for side in (160, 320, 480)]


def assert_same(ours: Detections, theirs: Detections, min_iou: float = 0.98) -> None:
    assert len(ours) == len(theirs) > 0
    assert (ours.boxes.cpu() - theirs.boxes.cpu()).abs().max() <= 1.0
    assert torch.equal(ours.class_ids.cpu(), theirs.class_ids.cpu())
    a, b = ours.masks.cpu(), theirs.masks.cpu()
    iou = (a & b).flatten(1).sum(1).float() / (a | b).flatten(1).sum(1).clamp(min=1).float()
    assert iou.min() >= min_iou, f"worst mask IoU {iou.min():.4f}"


def test_an_fp32_plan_from_onnx_equals_the_torch_backend(
    onnx_export: Path, source: Path, tmp_path: Path
) -> None:
    config = trt_config(onnx_export, tmp_path, precision="fp32")
    network = open_tensorrt(onnx_export, config, CUDA)
    assert (network.precision, network.info.format, network.info.imgsz) == (
        "fp32",
        "tensorrt",
        (IMGSZ, IMGSZ),
    )
    cpu = EngineConfig(model=source, device="cpu", imgsz=IMGSZ, conf=0.25)
    reference = open_torch(source, cpu, torch.device("cpu"))
    x = as_batch([synthetic_image(IMGSZ, IMGSZ, seed=7)])
    got, want = network(x.to(CUDA)), reference(x)
    for g, w in zip(got, want, strict=True):  # raw outputs, f32: within 1e-3
        torch.testing.assert_close(g.float().cpu(), w.float(), atol=1e-3, rtol=1e-3)
    ours, theirs = Engine(network, config), Engine(reference, cpu)
    for frame in square_frames():
        assert_same(ours.infer([frame])[0], theirs.infer([frame])[0])


def test_plans_are_cached_by_key_and_a_stale_one_is_rebuilt(onnx_export: Path, tmp_path: Path) -> None:
    import tensorrt as trt

    config = trt_config(onnx_export, tmp_path, precision="fp32")
    open_tensorrt(onnx_export, config, CUDA)
    (plan,) = tmp_path.glob("*.engine")
    built = plan.stat().st_mtime_ns
    open_tensorrt(onnx_export, config, CUDA)
    assert plan.stat().st_mtime_ns == built  # the second start loads the cached plan
    offset, meta = read_header(plan)
    meta["plan_key"]["tensorrt"] = "0.0.0"  # as a plan left by another TensorRT version would say
    write_plan(plan, meta, plan.read_bytes()[offset:])
    network = open_tensorrt(onnx_export, config, CUDA)
    assert read_header(plan)[1]["plan_key"]["tensorrt"] == trt.__version__  # rebuilt, not loaded
    assert network.info.extra["tensorrt_plan"] == str(plan)


def test_fp16_is_checked_against_an_fp32_plan_at_start(onnx_export: Path, tmp_path: Path) -> None:
    import tensorrt as trt

    config = trt_config(onnx_export, tmp_path, precision="fp16", check_iou=0.5)
    if not hasattr(trt.BuilderFlag, "FP16"):  # TensorRT 11: strongly typed, fp16 only from an fp16 graph
        with pytest.raises(ModelError, match=r"strongly typed networks.*set engine.tensorrt.precision: fp32"):
            open_tensorrt(onnx_export, config, CUDA)
        return
    network = open_tensorrt(onnx_export, config, CUDA)
    assert network.precision == "fp16" and network.info.extra["tensorrt_precision"] == "fp16"
    assert sorted(p.name.split(".")[1] for p in tmp_path.glob("*.engine")) == ["fp16", "fp32"]
    fp32 = open_tensorrt(onnx_export, trt_config(onnx_export, tmp_path, precision="fp32"), CUDA)
    frame = square_frames()[1]
    assert_same(Engine(network, config).infer([frame])[0], Engine(fp32, config).infer([frame])[0], 0.9)


def test_an_ultralytics_engine_export_loads_and_equals_its_own_predict(source: Path, tmp_path: Path) -> None:
    own = Path(shutil.copy(source, tmp_path / "best.pt"))  # the export writes best.onnx beside it too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(yolo(own).export(format="engine", imgsz=IMGSZ, half=False, device=0, simplify=False))
    engine = load_engine(EngineConfig(model=path, device="cuda", conf=0.25))  # auto: tensorrt for a plan
    assert engine.network.info.format == "tensorrt" and engine.imgsz == (IMGSZ, IMGSZ)
    reference = yolo(path)
    for frame in square_frames():
        (ref,) = reference.predict(frame, conf=0.25, imgsz=IMGSZ, device=0, retina_masks=True, verbose=False)
        assert_same_detections(engine.infer([frame])[0], ref, frame)


def test_inspector_export_checks_the_plan_and_refuses_it_under_another_tensorrt(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "best.engine"
    request = ExportRequest(source, out, (IMGSZ, IMGSZ), None, 2, False, None, None)
    result = EXPORTERS["tensorrt"](request)
    assert result.path == out and result.max_abs_diff <= 1e-3 and "fp32 plan" in result.detail
    engine = load_engine(EngineConfig(model=out, device="cuda", conf=0.25))
    assert engine.network.max_batch == 2
    frames = square_frames()  # three frames on a batch-2 plan: a full batch, then a short one
    for together, alone in zip(engine.infer(frames), (engine.infer([f])[0] for f in frames), strict=True):
        assert_same(together, alone, 0.999)
    offset, meta = read_header(out)
    write_plan(out, {**meta, "tensorrt": "9.0.0"}, out.read_bytes()[offset:])
    with pytest.raises(ModelError, match=r"built with TensorRT 9\.0\.0, but TensorRT \S+ is installed"):
        load_engine(EngineConfig(model=out, device="cuda"))
