"""The OpenVINO backend: inspector's own IRs of YOLOv8/11/26-seg equal the torch backend (raw
outputs and detections), ultralytics' OpenVINO and ONNX exports load and match, bf16 runs behind
its start-up check, and bad files are refused naming the file."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.openvino import OpenVinoNetwork, open_openvino
from inspector.engine.backends.registry import BACKENDS
from inspector.engine.engine import Engine
from inspector.engine.export.openvino import write_openvino
from inspector.engine.export.registry import ExportRequest
from inspector.errors import ModelError
from inspector.messages import Detections
from tests.engine.test_families_engine import in_reference_order
from tests.support.logs import LogCapture
from tests.support.openvino import openvino_cpu_capabilities
from tests.support.reference import (
    as_batch,
    assert_raw_close,
    assert_same_detections,
    float32_noise,
    masks_agree,
    setup_offline,
    synthetic_image,
    yolo,
)

CPU = torch.device("cpu")
CPU_CAPABILITIES = openvino_cpu_capabilities()  # what OpenVINO can run on this machine
# different sizes in one batch: the torch backend pads them to the full square, as a fixed-size export is
IMAGE_SIZES = [(240, 320), (300, 200), (257, 413), (120, 400)]
# (family, one-to-one head, input side, conf): the families' trained sizes (see tests/conftest.py)
FAMILIES = [
    ("yolov8", False, 320, 0.25),
    ("yolo11", False, 256, 0.25),
    ("yolo26", False, 320, 0.25),
    ("yolo26", True, 320, 0.1),  # the one-to-one head: lower scores on these images
]


@pytest.fixture
def no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """ultralytics converts with ``openvino.convert_model``, which sends usage telemetry (from
    threads it leaves running) unless it runs in CI: tests stay off the network."""
    monkeypatch.setenv("CI", "true")


def export_ir(source: Path, out: Path, side: int) -> Path:
    request = ExportRequest(source, out, (side, side), None, 1, False, None, None)
    result = write_openvino(request)
    assert result.max_abs_diff < 1e-2, result  # the largest raw values are box pixels, up to ``side``
    return out


@pytest.fixture(scope="module")
def checkpoint_of(
    tiny_seg_checkpoint: Path, family_checkpoint: Callable[[str, bool], Path]
) -> Callable[[str, bool], Path]:
    def checkpoint(family: str, one_to_one: bool) -> Path:
        return tiny_seg_checkpoint if family == "yolov8" else family_checkpoint(family, one_to_one)

    return checkpoint


@pytest.fixture(scope="module")
def ir_of(
    checkpoint_of: Callable[[str, bool], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, bool, int], Path]:
    """An IR written by ``inspector model export`` per (family, head, side), made once."""
    made: dict[tuple[str, bool, int], Path] = {}

    def ir(family: str, one_to_one: bool, side: int) -> Path:
        key = (family, one_to_one, side)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"ov-{family}")
            made[key] = export_ir(checkpoint_of(family, one_to_one), folder / "model.xml", side)
        return made[key]

    return ir


def assert_same(ours: Detections, ref: Detections) -> None:
    """Same instances (those whose scores tie may come in either order), boxes within a pixel,
    scores within 1e-3, masks as ``masks_agree`` asks: what the engine's parity tests ask of ultralytics."""
    assert len(ours) == len(ref), f"{len(ours)} instances vs {len(ref)}"
    used: set[int] = set()
    for j in range(len(ref)):
        box_diff = (ours.boxes - ref.boxes[j]).abs().amax(1)
        fits = [
            i
            for i in range(len(ours))
            if i not in used
            and int(ours.class_ids[i]) == int(ref.class_ids[j])
            and abs(float(ours.scores[i] - ref.scores[j])) <= 1e-3
            and float(box_diff[i]) <= 1.0
        ]
        assert fits, f"reference instance {j} (class {int(ref.class_ids[j])}) has no counterpart"
        i = min(fits, key=lambda k: float(box_diff[k]))
        used.add(i)
        pair = torch.stack((ours.boxes[i], ref.boxes[j]))
        assert masks_agree_inside(ours.masks[i], ref.masks[j], pair), f"masks of instance {j} differ"


def masks_agree_inside(a: torch.Tensor, b: torch.Tensor, boxes: torch.Tensor) -> bool:
    """``masks_agree`` inside both boxes, a pixel in from their edges: masks are cropped to their
    box, and a box edge within float noise of a pixel row moves that whole row in or out (see the
    trained sizes in tests/conftest.py); that row says nothing about the backend."""
    x1, y1 = (int(boxes[:, k].max().ceil()) + 1 for k in (0, 1))
    x2, y2 = (int(boxes[:, k].min().floor()) - 1 for k in (2, 3))
    a, b = a[y1:y2, x1:x2], b[y1:y2, x1:x2]
    return bool(masks_agree(a[None], b[None], boxes[:1]).all())


@pytest.mark.parametrize(
    ("family", "one_to_one", "side", "conf"), FAMILIES, ids=["v8", "yolo11", "yolo26", "yolo26-end2end"]
)
def test_inspector_export_equals_the_torch_backend(
    checkpoint_of: Callable[[str, bool], Path],
    ir_of: Callable[[str, bool, int], Path],
    family: str,
    one_to_one: bool,
    side: int,
    conf: float,
) -> None:
    source = checkpoint_of(family, one_to_one)
    config = EngineConfig(device="cpu", conf=conf, imgsz=side, warmup=0, backend="openvino")
    ov_net = open_openvino(ir_of(family, one_to_one, side), config, CPU)
    torch_net = BACKENDS["torch"](source, config, CPU)
    assert ov_net.info.end2end == torch_net.info.end2end == one_to_one
    assert (ov_net.info.imgsz, ov_net.info.fixed_imgsz, ov_net.info.names) == (
        (side, side),
        True,
        torch_net.info.names,
    )
    x = as_batch([synthetic_image(side, side, seed=3)])
    with torch.inference_mode():
        assert_raw_close(ov_net(x), torch_net(x), 5, float32_noise(source, one_to_one, x, 5))
    images = [synthetic_image(h, w, seed=h * w) for h, w in IMAGE_SIZES]
    ours, theirs = Engine(ov_net, config).infer(images), Engine(torch_net, config).infer(images)
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)
    assert sum(len(d) for d in ours) >= 5  # the comparison is not vacuous


@pytest.mark.parametrize("fmt", ["openvino", "onnx"])
def test_ultralytics_exports_load_and_match_predict(
    tiny_seg_checkpoint: Path, tmp_path: Path, fmt: str, logs: LogCapture, no_telemetry: None
) -> None:
    source = Path(shutil.copy(tiny_seg_checkpoint, tmp_path / "best.pt"))
    setup_offline()  # no downloads: ultralytics is kept offline
    exported = Path(yolo(source).export(format=fmt, imgsz=192, half=False, verbose=False))
    engine = load_engine(EngineConfig(model=exported, device="cpu", conf=0.25, backend="openvino"))
    info = engine.info
    assert (info.format, info.arch, info.scale, info.imgsz) == (fmt, "yolov8-seg", "n", (192, 192))
    assert info.names[1] == "solder_bridge" and info.weights_dtype == "f32"
    (compiled,) = logs.events("openvino_compiled")
    assert compiled["precision"] == "f32" and "float32" in compiled["inference_precision_hint"]
    reference = yolo(source)
    total = 0
    for h, w in IMAGE_SIZES:
        image = synthetic_image(h, w, seed=h * w)
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(image, conf=0.25, imgsz=192, rect=False, retina_masks=True, verbose=False)
        assert_same_detections(in_reference_order(ours, ref), ref, image)
        total += len(ours)
    assert total >= 5
    if fmt == "onnx":  # a copy cut short: named as the ONNX Runtime backend names it
        cut = tmp_path / "cut.onnx"
        cut.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
        with pytest.raises(ModelError, match=r"cut\.onnx: not a complete ONNX model"):
            open_openvino(cut, EngineConfig(device="cpu"), CPU)
    if fmt == "openvino":  # the folder's metadata.yaml is what names the classes
        inside = open_openvino(exported / "best.xml", EngineConfig(device="cpu"), CPU)  # the .xml itself
        assert inside.info.names == info.names
        (exported / "metadata.yaml").unlink()
        with pytest.raises(ModelError, match=r"best\.xml: an export without ultralytics metadata"):
            open_openvino(exported, EngineConfig(device="cpu"), CPU)


def test_ultralytics_end_to_end_export_equals_the_one_to_one_torch_backend(
    family_checkpoint: Callable[[str, bool], Path], tmp_path: Path, no_telemetry: None
) -> None:
    source = Path(shutil.copy(family_checkpoint("yolo26", False), tmp_path / "best.pt"))
    exported = Path(yolo(source).export(format="openvino", imgsz=256, half=False, nms=False, verbose=False))
    config = EngineConfig(device="cpu", conf=0.1, warmup=0, imgsz=256, end2end=True)
    ov_net = open_openvino(exported, config, CPU)
    assert isinstance(ov_net, OpenVinoNetwork) and ov_net.ready_rows and ov_net.info.end2end
    torch_net = BACKENDS["torch"](source, config, CPU)
    images = [synthetic_image(h, w, seed=h * w) for h, w in IMAGE_SIZES]
    ours, theirs = Engine(ov_net, config).infer(images), Engine(torch_net, config).infer(images)
    for a, b in zip(ours, theirs, strict=True):
        assert_same(a, b)
    assert sum(len(d) for d in ours) >= 5


def bf16_config(model: Path, check_iou: float) -> EngineConfig:
    options = {"precision": "bf16", "check_iou": check_iou}
    return EngineConfig(model=model, device="cpu", backend="openvino", warmup=0, openvino=options)


@pytest.mark.skipif("BF16" not in CPU_CAPABILITIES, reason="this CPU has no BF16 (AVX-512-BF16 or AMX)")
@pytest.mark.parametrize("side", [160, 320])
def test_bf16_runs_and_its_start_up_check_decides_by_check_iou(
    ir_of: Callable[[str, bool, int], Path], logs: LogCapture, side: int
) -> None:
    model = ir_of("yolov8", False, side)
    engine = load_engine(bf16_config(model, check_iou=0.0))  # 0 skips the check
    (compiled,) = logs.events("openvino_compiled")
    assert compiled["precision"] == "bf16" and "bfloat16" in compiled["inference_precision_hint"]
    assert compiled["worst_mask_iou"] is None and "BF16" in compiled["cpu_capabilities"]
    engine.infer([synthetic_image(240, 320, seed=1)])
    # A random-initialised network's flat scores make bf16 differences large or small by input
    # size; whichever it is here, the check must start the line exactly when it clears check_iou.
    for threshold in (0.5, 0.9, 1.0):
        try:
            load_engine(bf16_config(model, threshold))
        except ModelError as exc:
            message = str(exc)
            assert f"engine.openvino.check_iou is {threshold}" in message and "openvino bf16" in message
            worst = float(re.search(r"worst mask IoU ([0-9.]+)", message).group(1))  # type: ignore[union-attr]
            assert worst < threshold or "found at one precision only" in message
        else:
            assert logs.events("openvino_compiled")[-1]["worst_mask_iou"] >= threshold


@pytest.mark.skipif("FP16" in CPU_CAPABILITIES, reason="this CPU runs f16")
def test_f16_on_a_cpu_without_it_is_refused_not_run_as_bf16(ir_of: Callable[[str, bool, int], Path]) -> None:
    config = EngineConfig(device="cpu", backend="openvino", openvino={"precision": "f16"})
    with pytest.raises(ModelError, match=r"engine\.openvino\.precision f16: this CPU .* cannot run it"):
        open_openvino(ir_of("yolov8", False, 320), config, CPU)


def test_a_cuda_device_is_refused(ir_of: Callable[[str, bool, int], Path]) -> None:
    with pytest.raises(ModelError, match="runs on the CPU only"):
        open_openvino(ir_of("yolov8", False, 320), EngineConfig(backend="openvino"), torch.device("cuda"))


def test_an_ir_without_its_bin_or_with_a_truncated_bin_is_refused(
    ir_of: Callable[[str, bool, int], Path], tmp_path: Path
) -> None:
    model = ir_of("yolov8", False, 320)
    alone = Path(shutil.copy(model, tmp_path / "alone.xml"))
    config = EngineConfig(device="cpu", backend="openvino")
    with pytest.raises(ModelError, match=r"alone\.xml: its weights alone\.bin are missing"):
        open_openvino(alone, config, CPU)
    cut = Path(shutil.copy(model, tmp_path / "cut.xml"))
    cut.with_suffix(".bin").write_bytes(model.with_suffix(".bin").read_bytes()[:100_000])
    with pytest.raises(ModelError, match=r"cut\.xml: OpenVINO cannot read it .* complete \.bin"):
        open_openvino(cut, config, CPU)


def test_a_detection_export_is_refused_by_name(
    tmp_path: Path, no_telemetry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a model built from its yaml is exported into the working folder
    setup_offline()
    from ultralytics import YOLO

    threads = torch.get_num_threads()
    detector = YOLO("yolov8n.yaml")  # built from its yaml, random weights: nothing is downloaded
    exported = Path(detector.export(format="openvino", imgsz=64, half=False, verbose=False))
    torch.set_num_threads(threads)
    with pytest.raises(ModelError, match=r"a YOLOv8 detection model: inspector needs a segmentation model"):
        open_openvino(exported, EngineConfig(device="cpu", backend="openvino"), CPU)
