"""FastSAM checkpoints (YOLOv8-seg, one class) through the engine, and the box/point prompt step
against ultralytics' FastSAM predict (``ultralytics/models/fastsam``) on the same checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.config import PromptConfig
from inspector.engine.prompt import Prompt, apply_prompt, by_boxes, by_points
from inspector.messages import Detections
from tests.support.reference import assert_same_detections, build_checkpoint, setup_offline, synthetic_image

IMAGE_SIZES = [(240, 320), (257, 413)]
CONF, IOU = 0.02, 0.7  # one random class: its scores sit low (spread_class_scores offsets it)


@pytest.fixture(scope="module")
def fastsam_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Saved as FastSAM-s.pt is: an ultralytics SegmentationModel of yolov8s-seg with one class
    named "object" (nothing in the file says FastSAM; ultralytics picks its FastSAM class by
    the file name)."""
    path = tmp_path_factory.mktemp("models") / "FastSAM-s.pt"
    return build_checkpoint(path, scale="s", nc=1, names=("object",), imgsz=320, seed=11)


def fastsam(path: Path) -> Any:
    setup_offline()
    from ultralytics import FastSAM

    threads = torch.get_num_threads()
    try:
        return FastSAM(str(path))
    finally:
        torch.set_num_threads(threads)


def snapped_to_border(dets: Detections) -> Detections:
    """Our boxes as FastSAMPredictor.postprocess reports them: edges within 20 px of the frame
    border moved onto it, and boxes with IoU > 0.9 against the frame become the frame (a
    display adjustment ultralytics makes to FastSAM boxes only; masks and scores unchanged)."""
    from ultralytics.models.fastsam.utils import adjust_bboxes_to_image_border
    from ultralytics.utils.metrics import box_iou

    height, width = dets.image_shape
    boxes = adjust_bboxes_to_image_border(dets.boxes.clone(), (height, width))
    full = torch.tensor([0, 0, width, height], dtype=torch.float32)
    boxes[box_iou(full[None], boxes)[0] > 0.9] = full
    return Detections(boxes, dets.scores, dets.class_ids, dets.masks, dets.names)


def prompts_for(dets: Detections) -> list[dict[str, Any]]:
    """Box and point prompts around our own instances (so they select something)."""
    x1, y1, x2, y2 = (float(v) for v in dets.boxes[0])
    ys, xs = torch.nonzero(dets.masks[-1], as_tuple=True)
    inside = (float(xs[len(xs) // 2]), float(ys[len(ys) // 2]))
    return [
        {"bboxes": [[x1 + 0.7, y1, x2, y2 - 0.4]]},
        {"bboxes": [[0, 0, 40, 40], [x1, y1, x2, y2]]},
        {"points": [inside], "labels": [1]},
        {"points": [inside, (3.0, 5.0)], "labels": [0, 0]},
        {"points": [inside], "labels": [0], "bboxes": [[x1, y1, x2, y2]]},
    ]


def as_prompt(args: dict[str, Any]) -> Prompt:
    labels = args.get("labels", [])
    points = tuple((x, y, int(label)) for (x, y), label in zip(args.get("points", []), labels, strict=True))
    return Prompt(tuple(tuple(b) for b in args.get("bboxes", [])), points)  # type: ignore[misc]


def test_fastsam_checkpoint_detections_and_prompts_match_ultralytics(fastsam_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=fastsam_checkpoint, device="cpu", conf=CONF, iou=IOU))
    # Indistinguishable from a one-class YOLOv8-seg by content: reported as that family.
    assert (engine.info.arch, engine.info.scale, engine.info.names) == ("yolov8-seg", "s", ("object",))
    reference = fastsam(fastsam_checkpoint)
    selected = 0
    for h, w in IMAGE_SIZES:
        image = synthetic_image(h, w, seed=h + w)
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(image, conf=CONF, iou=IOU, retina_masks=True, verbose=False)
        assert len(ours) >= 3
        assert_same_detections(snapped_to_border(ours), ref, image)
        for args in prompts_for(ours):
            (ref_kept,) = reference.predict(
                image, conf=CONF, iou=IOU, retina_masks=True, verbose=False, **args
            )
            kept = apply_prompt(ours, as_prompt(args))
            assert 0 < len(kept) < len(ours)
            assert_same_detections(snapped_to_border(kept), ref_kept, image)
            selected += len(kept)
    assert selected >= 10


def test_engine_prompt_option_keeps_what_apply_prompt_keeps(fastsam_checkpoint: Path) -> None:
    image = synthetic_image(240, 320, seed=5)
    plain = load_engine(EngineConfig(model=fastsam_checkpoint, device="cpu", conf=CONF, warmup=0))
    (everything,) = plain.infer([image])
    box = tuple(float(v) for v in everything.boxes[1])
    config = EngineConfig(
        model=fastsam_checkpoint, device="cpu", conf=CONF, warmup=0, prompt=PromptConfig(boxes=(box,))
    )
    (kept,) = load_engine(config).infer([image])
    expected = apply_prompt(everything, Prompt(boxes=(box,)))  # type: ignore[arg-type]
    assert len(kept) == 1
    assert torch.equal(kept.boxes, expected.boxes) and torch.equal(kept.masks, expected.masks)


def square(height: int, width: int, x1: int, y1: int, x2: int, y2: int) -> torch.Tensor:
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[y1:y2, x1:x2] = True
    return mask


def test_rule_on_hand_made_masks() -> None:
    masks = torch.stack(
        [square(50, 60, 0, 0, 30, 30), square(50, 60, 10, 10, 20, 20), square(50, 60, 40, 30, 60, 50)]
    )
    # Box: the one mask with the highest IoU; coordinates truncated and clipped to the frame.
    assert by_boxes(masks, torch.tensor([[9.9, 10.0, 20.0, 20.0]])).tolist() == [False, True, False]
    assert by_boxes(masks, torch.tensor([[-5.0, -5.0, 31.0, 30.0], [38, 28, 99, 99]])).tolist() == [
        True,
        False,
        True,
    ]
    # Points: under a foreground point, under no background point; all-background keeps the rest.
    points = torch.tensor([[15.0, 15.0], [5.0, 5.0]])
    assert by_points(masks, points, torch.tensor([1, 0])).tolist() == [False, True, False]
    assert by_points(masks, points, torch.tensor([0, 0])).tolist() == [False, False, True]
    assert by_points(masks, torch.tensor([[500.0, 500.0]]), torch.tensor([1])).tolist() == [
        False,
        False,
        True,
    ]


def test_prompt_config_is_bounded_and_typed() -> None:
    with pytest.raises(ValueError, match="points"):
        PromptConfig(points=((1.0, 2.0, 2),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="boxes"):
        PromptConfig(boxes=((1.0, 2.0, 3.0),))  # type: ignore[arg-type]


def test_engine_prompt_from_a_config_file(tmp_path: Path) -> None:
    from inspector.config.settings import load_config
    from inspector.errors import ConfigError

    good = tmp_path / "line.yaml"
    good.write_text("engine:\n  prompt: {boxes: [[10, 20, 200, 220]], points: [[50, 60, 1], [5, 5, 0]]}\n")
    prompt = load_config(good).engine.prompt
    assert prompt is not None and prompt.boxes == ((10, 20, 200, 220),) and prompt.points[1] == (5, 5, 0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine:\n  prompt: {points: [[50, 60, 3]]}\n")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert any(path.startswith("engine.prompt.points") for path, _ in error.value.problems), error.value
