"""YOLO11-seg and YOLO26-seg best.pt files through the loader and Engine, as a user brings them:
final detections equal ultralytics predict, the head mode follows the checkpoint (or
``engine.end2end``), the inspector format round-trips, unsafe and foreign files are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.loaders import load_model, read_content, save_own
from inspector.engine.runner import TorchNetwork
from inspector.errors import ConfigError, ModelError, UnsafeModelError
from inspector.messages import Detections
from tests.engine.test_loading import PAYLOAD_GLOBALS, payloads
from tests.support.reference import as_batch, assert_same_detections, synthetic_image, yolo

# (height, width): landscape, portrait, odd sizes, a wide strip; different aspect ratios
IMAGE_SIZES = [(240, 320), (300, 200), (257, 413), (120, 400)]
# Scores this close are a tie within float noise: ours and ultralytics' networks sum in different
# orders (BatchNorm folded differently, fp16 weights), and scores agree only to the 1e-3 that
# ``assert_same_detections`` allows; two instances whose scores are that close may come in either
# order (or, at the NMS / top-k / max_det boundary, either may be kept: not met on these images).
TIE = 1e-3
Checkpoint = Callable[[str, bool], Path]


def in_reference_order(ours: Detections, ref: Any) -> Detections:
    """``ours`` with instances whose scores tie (within ``TIE``) put in the reference's order:
    the order among tied instances is float noise, not a difference. Boxes, masks and scores
    are then compared at full tolerance by ``assert_same_detections``; an instance without a
    tied counterpart of the same class keeps its place, so the comparison still fails on it."""
    ref_scores, ref_classes = ref.boxes.conf, ref.boxes.cls.long()
    if len(ours) != len(ref_scores):
        return ours
    order: list[int] = []
    for j in range(len(ref_scores)):
        tied = [
            i
            for i in range(len(ours))
            if i not in order
            and abs(float(ours.scores[i] - ref_scores[j])) <= TIE
            and int(ours.class_ids[i]) == int(ref_classes[j])
        ]
        if not tied:
            return ours
        order.append(min(tied, key=lambda i: float((ours.boxes[i] - ref.boxes.xyxy[j]).abs().max())))
    index = torch.tensor(order, dtype=torch.int64)
    return Detections(
        ours.boxes[index], ours.scores[index], ours.class_ids[index], ours.masks[index], ours.names
    )


# (family, file fused to its one-to-one head, engine.end2end, ultralytics predict's nms, head run).
# conf 0.1 for the one-to-one head: its scores on these images are lower (11 instances pass 0.25).
CASES = [
    ("yolo11", False, "auto", None, False),
    ("yolo26", False, "auto", None, False),  # a trained file: predict runs one-to-many + NMS
    ("yolo26", False, True, False, True),  # NMS-free on request, as predict(nms=False)
    ("yolo26", True, "auto", None, True),  # only one-to-one branches left: predict runs them
]


@pytest.mark.parametrize(
    ("family", "one_to_one", "end2end", "nms", "runs_one_to_one"),
    CASES,
    ids=["yolo11", "yolo26-auto", "yolo26-true", "yolo26-fused-one2one-auto"],
)
def test_detections_match_ultralytics_predict(
    family_checkpoint: Checkpoint,
    family: str,
    one_to_one: bool,
    end2end: Any,
    nms: bool | None,
    runs_one_to_one: bool,
) -> None:
    path = family_checkpoint(family, one_to_one)
    conf = 0.1 if runs_one_to_one else 0.25
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=conf, iou=0.7, end2end=end2end))
    assert (engine.info.arch, engine.info.scale, engine.info.nc) == (f"{family}-seg", "n", 5)
    assert engine.info.end2end is runs_one_to_one
    network = engine.network
    assert isinstance(network, TorchNetwork) and network.forward is not network.module  # frozen on CPU
    reference = yolo(path)
    total = 0
    for h, w in IMAGE_SIZES:
        image = synthetic_image(h, w, seed=h * w)
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(image, conf=conf, iou=0.7, nms=nms, retina_masks=True, verbose=False)
        assert_same_detections(in_reference_order(ours, ref), ref, image)
        total += len(ours)
    assert total >= 10  # the comparison is not vacuous


def test_mixed_size_batch_matches_predict_end_to_end(family_checkpoint: Checkpoint) -> None:
    path = family_checkpoint("yolo26", False)
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=0.05, end2end=True, max_det=20))
    reference = yolo(path)
    images = [synthetic_image(h, w, seed=h + w) for h, w in IMAGE_SIZES[:3]]
    total = 0
    for det, image in zip(engine.infer(images), images, strict=True):
        (ref,) = reference.predict(
            image, conf=0.05, max_det=20, nms=False, rect=False, retina_masks=True, verbose=False
        )
        assert_same_detections(in_reference_order(det, ref), ref, image)
        total += len(det)
    assert total >= 10


@pytest.mark.parametrize(("family", "one_to_one"), [("yolo11", False), ("yolo26", False), ("yolo26", True)])
def test_inspector_format_round_trip(
    tmp_path: Path, family_checkpoint: Checkpoint, family: str, one_to_one: bool
) -> None:
    source = family_checkpoint(family, one_to_one)
    content, _ = read_content(source)
    own = tmp_path / "line3.pt"
    save_own(content, own, source=source.name)
    data = torch.load(own, weights_only=True)
    assert (data["arch"], data["end2end"], data["format_version"]) == (f"{family}-seg", one_to_one, 2)
    a, b = load_model(source), load_model(own)
    assert b.info.format == "inspector"
    fields = ("arch", "end2end", "scale", "nc", "names", "params", "imgsz", "stride")
    assert [getattr(a.info, f) for f in fields] == [getattr(b.info, f) for f in fields]
    x = as_batch([synthetic_image(160, 192, 3)])
    with torch.no_grad():
        for got, want in zip(a.module(x), b.module(x), strict=True):
            assert torch.equal(got, want)


def test_own_format_without_arch_reads_as_yolov8(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    content, _ = read_content(tiny_seg_checkpoint)
    own = tmp_path / "old.pt"
    save_own(content, own, source="best.pt")
    data = torch.load(own, weights_only=True)
    assert data["format_version"] == 1  # YOLOv8-seg files stay readable by older releases
    for key in ("arch", "end2end"):  # what a file written before the other families holds
        del data[key]
    torch.save(data, own)
    info = load_model(own).info
    assert (info.arch, info.end2end, info.scale) == ("yolov8-seg", False, "n")


@pytest.mark.parametrize(
    ("family", "end2end"), [("yolo11", True), ("yolov8", True), ("yolo26-fused-one2one", False)]
)
def test_head_mode_asked_of_a_model_without_that_head_is_a_config_error(
    family_checkpoint: Checkpoint, tiny_seg_checkpoint: Path, family: str, end2end: bool
) -> None:
    paths = {"yolov8": tiny_seg_checkpoint, "yolo26-fused-one2one": family_checkpoint("yolo26", True)}
    path = paths.get(family) or family_checkpoint(family, False)
    with pytest.raises(ConfigError) as raised:
        load_engine(EngineConfig(model=path, device="cpu", end2end=end2end))
    assert "engine.end2end" in str(raised.value) and str(path) in str(raised.value)


@pytest.mark.parametrize("kind", PAYLOAD_GLOBALS)
def test_payload_inside_a_yolo11_checkpoint_is_refused(
    tmp_path: Path, family_checkpoint: Checkpoint, kind: str
) -> None:
    marker = tmp_path / "marker"
    net = yolo(family_checkpoint("yolo11", False)).model
    path = tmp_path / "best.pt"
    torch.save({"model": net, "train_args": payloads(marker)[kind]}, path)
    with pytest.raises(UnsafeModelError, match=rf"best\.pt: it references '{PAYLOAD_GLOBALS[kind]}'"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("yaml", "model_class", "named"),
    [
        ("yolo11n.yaml", "DetectionModel", "a YOLO11 detection model"),
        ("yolo26n.yaml", "DetectionModel", "a YOLO26 detection model"),
        ("yolo11n-pose.yaml", "PoseModel", "a YOLO11 pose model"),
        ("yolo26n-obb.yaml", "OBBModel", r"a YOLO26 oriented-box \(OBB\) model"),
        ("yolov8n-cls.yaml", "ClassificationModel", "a YOLOv8 classification model"),
        ("yolo26n-sem.yaml", "SemanticSegmentationModel", "a YOLO26 semantic segmentation model"),
    ],
)
def test_other_tasks_are_refused_by_name(tmp_path: Path, yaml: str, model_class: str, named: str) -> None:
    from ultralytics.nn import tasks

    model = yolo("yolov8n-seg.yaml")
    model.model = getattr(tasks, model_class)(yaml, nc=3, verbose=False)
    path = tmp_path / "best.pt"
    model.save(str(path))
    with pytest.raises(ModelError, match=rf"best\.pt: {named}: inspector needs a segmentation model"):
        load_model(path)
