"""Mask R-CNN exported by ``inspector model export --arch`` and run by the engine (ONNX Runtime,
OpenVINO f32) against eager torchvision on the same weights and images: labels equal, boxes
within 0.01 px, scores within 1e-3, mask IoU >= 0.98 for masks over 200 px (where a box edge
sits within float noise of a whole pixel, against torchvision's paste at our box: ``eager_mask_at``);
v1 (torchvision's default settings) and v2 (exported with ``--setting rpn_post_nms_top_n_test=300``,
its eager reference built with the same).

The random v1 model finds 100 instances per image (the cap), and below a score of ~0.72 their
scores lie within 1e-4 of each other, where a 1e-5 difference lets another proposal win the
last places: the comparison covers the instances scoring at least ``SCORE_FLOOR`` (about half)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.archs.maskrcnn import paste_masks
from inspector.engine.export.maskrcnn import eager_mask_at, read_state_dict, tie_order
from inspector.errors import ModelError, UnsafeModelError
from tests.engine.archs.conftest import Exported
from tests.support.archs import MASKRCNN_HW, NAMES, as_tensor, frames, require

MIN_MASK_PX = 200
SCORE_FLOOR = 0.75
pytestmark = pytest.mark.timeout(1800)  # a test that builds and exports a model first (session fixture)


# Eager torchvision's instances above SCORE_FLOOR per (model, image), masks thresholded, and their
# 28x28 mask probabilities before the paste: the same images are compared on both runtimes, and an
# eager v2 run costs ~2 s here.
_EAGER: dict[tuple[int, str], dict[str, np.ndarray]] = {}


def eager_instances(reference: torch.nn.Module, image: np.ndarray) -> dict[str, np.ndarray]:
    key = (id(reference), hashlib.sha1(image.tobytes()).hexdigest())
    if key not in _EAGER:
        unpasted: list[torch.Tensor] = []
        hook = reference.roi_heads.register_forward_hook(  # type: ignore[union-attr]
            lambda _module, _args, out: unpasted.append(out[0][0]["masks"])
        )
        try:
            with torch.no_grad():
                ref = reference([as_tensor(image)])[0]
        finally:
            hook.remove()
        kept = ref["scores"] >= SCORE_FLOOR
        _EAGER[key] = {
            "labels": ref["labels"][kept].numpy(),
            "boxes": ref["boxes"][kept].numpy(),
            "scores": ref["scores"][kept].numpy(),
            "masks": ref["masks"][kept][:, 0].numpy() > 0.5,
            "unpasted": unpasted[0][kept].numpy(),
        }
    return _EAGER[key]


def assert_parity(engine: object, reference: torch.nn.Module, images: list[np.ndarray]) -> int:
    """The engine's instances equal torchvision's on every image; the number compared."""
    compared = big_masks = 0
    for image in images:
        (det,) = engine.infer([image])  # type: ignore[attr-defined]
        ref = eager_instances(reference, image)
        assert det.class_ids.tolist() == (ref["labels"] - 1).tolist()
        np.testing.assert_allclose(det.boxes.numpy(), ref["boxes"], rtol=0, atol=0.01)
        np.testing.assert_allclose(det.scores.numpy(), ref["scores"], rtol=0, atol=1e-3)
        for k, mine in enumerate(det.masks.numpy()):
            if ref["masks"][k].sum() > MIN_MASK_PX:
                big_masks += 1
                hw = image.shape[:2]  # torchvision's own mask, rebuilt from its 28x28 by the helper:
                own = eager_mask_at(ref["boxes"][k], ref["boxes"][k], ref["unpasted"][k], hw)
                assert np.array_equal(own, ref["masks"][k])
                # at our box where the two boxes truncate to different whole pixels (eager_mask_at)
                theirs = eager_mask_at(det.boxes[k].numpy(), ref["boxes"][k], ref["unpasted"][k], hw)
                assert (mine & theirs).sum() / (mine | theirs).sum() >= 0.98
        compared += len(det)
    assert big_masks > 0, "no mask over 200 px was compared"
    return compared


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_export_matches_eager_torchvision(
    maskrcnn_export: Callable[[bool, str], Exported], v2: bool, backend: str
) -> None:
    exported = maskrcnn_export(v2, "onnx")
    config = EngineConfig(
        model=exported.path,
        device="cpu",
        backend=backend,
        conf=SCORE_FLOOR,
        max_det=1000,
        openvino={"precision": "f32"},
    )
    engine = load_engine(config)
    assert engine.info.arch == ("maskrcnn-r50-fpn-v2" if v2 else "maskrcnn-r50-fpn")
    assert engine.names == NAMES and engine.precision in ("fp32", "f32")
    assert exported.reference is not None
    assert assert_parity(engine, exported.reference, frames(MASKRCNN_HW)) >= 4


def test_the_export_checked_itself(maskrcnn_export: Callable[[bool, str], Exported]) -> None:
    checks = maskrcnn_export(False, "onnx").result.checks
    assert checks[0].startswith("vs eager torchvision on 4 check images: labels equal"), checks


def test_an_openvino_ir_matches_eager_torchvision(maskrcnn_export: Callable[[bool, str], Exported]) -> None:
    exported = maskrcnn_export(False, "openvino")
    engine = load_engine(EngineConfig(model=exported.path, device="cpu", conf=SCORE_FLOOR, max_det=1000))
    assert engine.backend == "openvino" and engine.info.format == "openvino"  # type: ignore[union-attr]
    assert exported.reference is not None
    assert_parity(engine, exported.reference, frames(MASKRCNN_HW, seed=1))


def test_frames_of_another_size_are_resized_to_fit_and_mapped_back(
    maskrcnn_export: Callable[[bool, str], Exported],
) -> None:
    engine = load_engine(EngineConfig(model=maskrcnn_export(False, "onnx").path, device="cpu", conf=0.3))
    big = frames((480, 640), count=1)[0]
    (det,) = engine.infer([big])
    assert det.image_shape == (480, 640) and len(det) > 0
    assert float(det.boxes[:, 2].max()) <= 640 and float(det.boxes[:, 3].max()) <= 480
    for mask, box in zip(det.masks.numpy(), det.boxes.numpy(), strict=True):
        # torchvision's paste grows the box by 1/28 of its size per side (and truncates it): a mask
        # may spill that far past its box, no farther
        grow = max(box[2] - box[0], box[3] - box[1]) / 28 + 2
        x0, y0 = max(int(box[0] - grow), 0), max(int(box[1] - grow), 0)
        assert mask[y0 : int(box[3] + grow) + 1, x0 : int(box[2] + grow) + 1].sum() == mask.sum()


def test_a_standard_recipe_onnx_is_recognised_and_runs(
    maskrcnn_export: Callable[[bool, str], Exported], tmp_path: Path
) -> None:
    """torchvision's own ONNX recipe (masks pasted in the graph), names from engine.names."""
    require("torchvision")
    reference = maskrcnn_export(False, "onnx").reference
    assert reference is not None
    path = tmp_path / "user.onnx"
    example = as_tensor(frames(MASKRCNN_HW, count=1)[0])
    with torch.no_grad():
        torch.onnx.export(
            reference,
            ([example],),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["images_tensors"],
            output_names=["boxes", "labels", "scores", "masks"],
            dynamic_axes={
                "images_tensors": [0, 1, 2],
                "boxes": [0, 1],
                "labels": [0],
                "scores": [0],
                "masks": [0, 1, 2, 3],
            },
        )
    with pytest.raises(ModelError, match=r"engine\.names"):
        load_engine(EngineConfig(model=path, device="cpu"))
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=SCORE_FLOOR, max_det=1000, names=NAMES))
    assert engine.info.arch == "maskrcnn-r50-fpn" and engine.names == NAMES
    assert_parity(engine, reference, frames(MASKRCNN_HW, seed=2))


def test_a_pickled_module_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UnsafeModelError, match=r"torch\.nn\.modules\.linear\.Linear.*nothing was executed"):
        read_state_dict(path)


def test_paste_follows_torchvision() -> None:
    ops = require("torchvision.models.detection.roi_heads")
    rng = np.random.default_rng(3)
    probs = rng.random((6, 1, 28, 28), dtype=np.float32)
    boxes = np.array(
        [
            [3.2, 4.7, 50.1, 80.9],
            [-5, -3, 20, 10],
            [100, 90, 159.9, 119.9],
            [10, 10, 10.5, 10.5],
            [0, 0, 160, 120],
            [30.5, 60.25, 31.75, 100],
        ],
        np.float32,
    )
    mine = paste_masks(probs, boxes, (120, 160))
    theirs = (
        ops.paste_masks_in_image(torch.from_numpy(probs), torch.from_numpy(boxes), (120, 160))[:, 0] > 0.5
    )
    assert np.array_equal(mine, theirs.numpy())


def test_the_export_check_pairs_instances_whose_scores_tie() -> None:
    """Both sides sort by score: instances scoring within 1e-5 may come out in either order, and
    the check compares each with its twin (nearest box among the tied), not its index."""
    ref_boxes = np.array([[0, 0, 10, 10], [50, 50, 90, 90], [5, 5, 30, 30], [0, 0, 4, 4]], np.float32)
    ref_scores = np.array([0.9, 0.5, 0.5 - 4e-6, 0.2], np.float32)
    boxes = ref_boxes[[0, 2, 1, 3]] + 0.001
    scores = ref_scores[[0, 2, 1, 3]]
    assert tie_order(boxes, scores, ref_boxes, ref_scores).tolist() == [0, 2, 1, 3]
    # a real difference stays one: no tie, the index is kept
    far = np.array([0.9, 0.6, 0.4, 0.2], np.float32)
    assert tie_order(boxes, far, ref_boxes, ref_scores).tolist() == [0, 1, 2, 3]


def test_test_time_settings_reach_the_graph_and_its_check(
    maskrcnn_export: Callable[[bool, str], Exported],
) -> None:
    """v2 is exported with ``rpn_post_nms_top_n_test=300`` (``V2_SETTINGS``): the file records it,
    the export names it, its own check compared against eager torchvision with the same, and the
    engine (``model info``) shows it."""
    from inspector.engine.backends.onnx_file import read_onnx

    exported = maskrcnn_export(True, "onnx")
    assert str(read_onnx(exported.path).metadata["settings"]) == str({"rpn_post_nms_top_n_test": 300})
    assert exported.result.detail.endswith("rpn_post_nms_top_n_test=300")
    assert exported.result.checks[0].startswith("vs eager torchvision on 4 check images: labels equal")
    assert exported.reference is not None and exported.reference.rpn._post_nms_top_n["testing"] == 300
    info = load_engine(EngineConfig(model=exported.path, device="cpu", warmup=0)).info.as_dict()
    assert info["settings"] == str({"rpn_post_nms_top_n_test": 300})  # what `model info` shows


@pytest.mark.parametrize(
    ("setting", "arch", "message"),
    [
        ("bogus=3", "maskrcnn_resnet50_fpn", "--setting bogus: not a Mask R-CNN test-time setting; known: "),
        ("box_detections_per_img=2.5", "maskrcnn_resnet50_fpn", "expected a whole number from 1 to 1000"),
        ("box_nms_thresh=1.5", "maskrcnn_resnet50_fpn_v2", "expected a number from 0 to 1"),
        ("box_nms_thresh", "maskrcnn_resnet50_fpn", "expected NAME=NUMBER"),
        ("box_nms_thresh=0.4", "segformer", "--setting applies to --arch maskrcnn_resnet50_fpn[_v2] only"),
    ],
)
def test_a_bad_setting_is_one_clear_error(
    setting: str, arch: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspector.cli import main

    args = ["model", "export", str(tmp_path / "model.pth"), "--arch", arch, "--format", "onnx"]
    assert main([*args, "--setting", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
