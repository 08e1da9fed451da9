"""``engine.backend: onnxruntime``: ONNX exports by inspector and by ultralytics give the torch
backend's raw outputs (within 1e-3 plus torch's own float32 error) and ultralytics predict's
detections."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.onnxruntime import OnnxRuntimeNetwork
from inspector.engine.backends.registry import BACKENDS, choose_backend
from inspector.engine.export.onnx import write_onnx
from inspector.engine.export.registry import ExportRequest
from inspector.errors import ConfigError
from tests.engine.test_families_engine import IMAGE_SIZES, in_reference_order
from tests.support.reference import (
    as_batch,
    assert_raw_close,
    assert_same_detections,
    float32_noise,
    synthetic_image,
    yolo,
)

CPU = torch.device("cpu")
SIDE = 256  # small and quick; every family is compared at it (TorchScript exports are tested at 256 too)
Source = Callable[[str], Path]
# model -> (engine conf, ultralytics predict's nms): the one-to-one head scores lower (test_families_engine)
CASES = {
    "yolov8": (0.4, None),
    "yolo11": (0.25, None),
    "yolo11-dynamic": (0.25, None),  # ultralytics' dynamic=True: run at its metadata's imgsz
    "yolo26": (0.25, None),
    "yolo26-end2end": (0.1, False),
}


@pytest.fixture(scope="module")
def source(tiny_seg_checkpoint: Path, family_checkpoint: Callable[[str, bool], Path]) -> Source:
    def checkpoint(model: str) -> Path:
        return tiny_seg_checkpoint if model == "yolov8" else family_checkpoint(model.split("-")[0], False)

    return checkpoint


@pytest.fixture(scope="module")
def inspector_onnx(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``inspector model export --format onnx`` of each model at SIDE, made once."""
    made: dict[str, Path] = {}

    def export(model: str) -> Path:
        if model not in made:
            out = tmp_path_factory.mktemp("onnx") / f"{model}.onnx"
            end2end = True if model.endswith("end2end") else None
            request = ExportRequest(source(model), out, (SIDE, SIDE), None, 1, False, None, end2end)
            result = write_onnx(request)
            assert result.max_abs_diff < 1e-3, result
            made[model] = result.path
        return made[model]

    return export


@pytest.fixture(scope="module")
def ultralytics_onnx(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """ultralytics' own ``export(format="onnx", imgsz=SIDE)`` (YOLO26 end-to-end: ``nms=False``;
    ``-dynamic``: ``dynamic=True``, batch and input size left open)."""
    made: dict[str, Path] = {}

    def export(model: str) -> Path:
        if model not in made:
            copy = shutil.copy(source(model), tmp_path_factory.mktemp("ul-onnx") / "best.pt")
            variant = model.split("-")[-1]
            options = {"end2end": {"nms": False}, "dynamic": {"dynamic": True}}.get(variant, {})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the exporter's trace notes
                made[model] = Path(yolo(copy).export(format="onnx", imgsz=SIDE, verbose=False, **options))
        return made[model]

    return export


def images_batch() -> torch.Tensor:
    return as_batch([synthetic_image(SIDE, SIDE, seed=s) for s in (3, 4)])


def assert_matches_predict(path: Path, source: Path, model: str) -> None:
    """Engine on ``path`` (ONNX Runtime) vs ultralytics predict on the source checkpoint."""
    conf, nms = CASES[model]
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=conf))
    assert isinstance(engine.network, OnnxRuntimeNetwork) and engine.imgsz == (SIDE, SIDE)
    reference = yolo(source)
    total = 0
    for h, w in IMAGE_SIZES:
        image = synthetic_image(h, w, seed=h * w)
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(
            image, conf=conf, imgsz=SIDE, rect=False, nms=nms, retina_masks=True, verbose=False
        )
        assert_same_detections(in_reference_order(ours, ref), ref, image)
        total += len(ours)
    assert total >= 10  # the comparison is not vacuous


@pytest.mark.parametrize("model", [m for m in CASES if not m.endswith("dynamic")])
def test_inspector_export_matches_torch_backend_and_predict(
    inspector_onnx: Callable[[str], Path], source: Source, model: str
) -> None:
    path = inspector_onnx(model)
    end2end = model.endswith("end2end")
    config = EngineConfig(model=path, device="cpu", imgsz=SIDE, end2end=True if end2end else "auto")
    ort_net = BACKENDS["onnxruntime"](path, config, CPU)
    torch_net = BACKENDS["torch"](source(model), config.model_copy(update={"model": source(model)}), CPU)
    fields = ("arch", "scale", "nc", "names", "end2end", "stride")
    assert [getattr(ort_net.info, f) for f in fields] == [getattr(torch_net.info, f) for f in fields]
    assert ort_net.info.format == "onnx" and ort_net.info.fixed_imgsz and ort_net.info.imgsz == (SIDE, SIDE)
    x = images_batch()
    with torch.inference_mode():
        ours, theirs = ort_net(x), torch_net(x)
    assert_raw_close(ours, theirs, 5, float32_noise(source(model), end2end, x, 5))
    assert_matches_predict(path, source(model), model)


@pytest.mark.parametrize("model", list(CASES))
def test_ultralytics_export_loads_and_matches(
    ultralytics_onnx: Callable[[str], Path], source: Source, model: str
) -> None:
    path = ultralytics_onnx(model)
    network = BACKENDS["onnxruntime"](path, EngineConfig(model=path, device="cpu"), CPU)
    info = network.info
    expected = f"{model.split('-')[0]}-seg"
    assert (info.arch, info.scale, info.nc, info.end2end) == (expected, "n", 5, model.endswith("end2end"))
    assert info.extra["exporter"].startswith("ultralytics 8.")
    assert network.max_batch == (0 if model.endswith("dynamic") else 1)
    if not info.end2end:  # the default export holds the Network contract itself
        torch_net = BACKENDS["torch"](source(model), EngineConfig(model=source(model), imgsz=SIDE), CPU)
        x = images_batch()
        with torch.inference_mode():
            ours, theirs = network(x), torch_net(x)
        assert_raw_close(ours, theirs, 5, float32_noise(source(model), False, x, 5))
    assert_matches_predict(path, source(model), model)


def test_auto_picks_onnxruntime_for_onnx_on_cpu(inspector_onnx: Callable[[str], Path]) -> None:
    path = inspector_onnx("yolov8")
    renamed = Path(shutil.copy(path, path.with_name("model.bin")))  # by content, not by name
    choice = choose_backend(renamed, EngineConfig(model=renamed), CPU)
    assert choice.name == "onnxruntime" and "auto" in choice.reason


def test_an_export_runs_only_its_own_head(inspector_onnx: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match=r"engine\.end2end"):
        load_engine(EngineConfig(model=inspector_onnx("yolo26-end2end"), device="cpu", end2end=False))


def test_fixed_batch_export_takes_any_number_of_frames(
    tiny_seg_checkpoint: Path, inspector_onnx: Callable[[str], Path], tmp_path: Path
) -> None:
    out = tmp_path / "batch2.onnx"
    write_onnx(ExportRequest(tiny_seg_checkpoint, out, (SIDE, SIDE), None, 2, False, None, None))
    two = load_engine(EngineConfig(model=out, device="cpu", conf=0.4, warmup=0))
    one = load_engine(EngineConfig(model=inspector_onnx("yolov8"), device="cpu", conf=0.4, warmup=0))
    assert two.network.max_batch == 2 and one.network.max_batch == 1
    images = [synthetic_image(h, w, seed=h + w) for h, w in IMAGE_SIZES[:3]]  # padded to 2, then 2 + 1
    for a, b in zip(two.infer(images), one.infer(images), strict=True):
        assert len(a) == len(b) and torch.equal(a.class_ids, b.class_ids)
        assert torch.allclose(a.boxes, b.boxes, atol=1e-3) and torch.equal(a.masks, b.masks)
    assert sum(len(d) for d in two.infer(images[:1])) == len(one.infer(images[:1])[0])
