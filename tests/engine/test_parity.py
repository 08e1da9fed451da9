"""Final detections equal ultralytics predict on the same checkpoint, images and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from tests.support.reference import assert_same_detections, synthetic_image, yolo

# (height, width): landscape, portrait, odd sizes, a wide strip; different aspect ratios
IMAGE_SIZES = [(240, 320), (300, 200), (257, 413), (120, 400)]


@pytest.mark.parametrize(
    ("checkpoint", "scale"), [("tiny_seg_checkpoint", "n"), ("small_seg_checkpoint", "s")]
)
def test_detections_match_ultralytics_predict(
    request: pytest.FixtureRequest, checkpoint: str, scale: str
) -> None:
    path: Path = request.getfixturevalue(checkpoint)
    conf = 0.25
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=conf, iou=0.7))
    assert engine.info.scale == scale
    reference = yolo(path)
    images = [synthetic_image(h, w, seed=h * w) for h, w in IMAGE_SIZES]
    total = 0
    for image in images:
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(image, conf=conf, iou=0.7, retina_masks=True, verbose=False)
        assert_same_detections(ours, ref, image)
        total += len(ours)
    assert total >= 10  # the comparison is not vacuous


def test_batch_of_mixed_sizes_matches_reference_at_square_input(tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.5, imgsz=256))
    reference = yolo(tiny_seg_checkpoint)
    images = [synthetic_image(h, w, seed=h * w) for h, w in IMAGE_SIZES[:3]]
    ours = engine.infer(images)
    for det, image in zip(ours, images, strict=False):
        # A mixed-size batch is padded to the full square, as ultralytics does without rect.
        (ref,) = reference.predict(image, conf=0.5, imgsz=256, rect=False, retina_masks=True, verbose=False)
        assert_same_detections(det, ref, image)
        assert dict(det.timings_ms).keys() == {"preprocess", "inference", "postprocess"}


def test_class_filter_agnostic_and_max_det(tiny_seg_checkpoint: Path) -> None:
    image = synthetic_image(240, 320, seed=7)
    reference = yolo(tiny_seg_checkpoint)
    options = [
        {"classes": (1, 3)},
        {"agnostic_nms": True},
        {"max_det": 3},
    ]
    for extra in options:
        engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.3, **extra))
        ref_args = {
            "classes": list(extra["classes"]) if "classes" in extra else None,  # type: ignore[call-overload]
            "agnostic_nms": extra.get("agnostic_nms", False),
            "max_det": extra.get("max_det", 300),
        }
        (ref,) = reference.predict(image, conf=0.3, iou=0.7, retina_masks=True, verbose=False, **ref_args)
        (ours,) = engine.infer([image])
        assert_same_detections(ours, ref, image)


def test_empty_result_is_well_formed(tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=1.0))
    (det,) = engine.infer([synthetic_image(100, 150, seed=1)])
    assert len(det) == 0
    assert det.masks.shape == (0, 100, 150) and det.boxes.shape == (0, 4)
    assert det.class_ids.dtype == torch.int64 and det.names == engine.names


def test_empty_class_filter_keeps_all_classes(tiny_seg_checkpoint: Path) -> None:
    # [] used to keep nothing, so every part passed; it means "all classes", like null.
    image = synthetic_image(240, 320, seed=7)
    config = EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.3, classes=[])
    assert config.classes is None
    (filtered,) = load_engine(config).infer([image])
    (unfiltered,) = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.3)).infer(
        [image]
    )
    assert len(filtered) == len(unfiltered) > 0
    assert torch.equal(filtered.class_ids, unfiltered.class_ids)
