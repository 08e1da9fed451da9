"""DETR panoptic: the numpy post-processing equals transformers'
``post_process_panoptic_segmentation`` (segmentation map and segments, with and without fused
stuff classes), and the exported graph (ONNX Runtime, OpenVINO) runs it end to end."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.archs.detr import DetrEngine, as_instances, panoptic
from tests.engine.archs.conftest import Exported
from tests.support.archs import DETR_HW, NAMES, as_tensor, frames, require

pytestmark = pytest.mark.timeout(1800)  # tests that build and export a model first (session fixture)


def eager_outputs(exported: Exported, image: np.ndarray) -> object:
    transformers = require("transformers")
    model = transformers.DetrForSegmentation.from_pretrained(str(exported.source)).eval()
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(pixel_values=(as_tensor(image)[None] - mean) / std)


def synthetic_outputs(seed: int, queries: int = 12, hw: tuple[int, int] = (32, 40)) -> SimpleNamespace:
    """DETR-shaped outputs with varied classes and smooth, overlapping masks (a random DETR's
    queries all agree, so its own outputs exercise little of the post-processing)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, (1, queries, len(NAMES) + 1)).astype(np.float32)
    logits[0, np.arange(queries), rng.integers(0, len(NAMES) + 1, queries)] += 5.0
    coarse = rng.normal(-4.0, 6.0, (queries, hw[0] // 8, hw[1] // 8)).astype(np.float32)
    masks = np.stack([cv2.resize(c, (hw[1], hw[0]), interpolation=cv2.INTER_CUBIC) for c in coarse])[None]
    return SimpleNamespace(logits=torch.from_numpy(logits), pred_masks=torch.from_numpy(masks))


def assert_same(
    outputs: SimpleNamespace, target: tuple[int, int], threshold: float, fuse: frozenset[int]
) -> int:
    """Our post-processing of ``outputs`` equals transformers'; the number of segments."""
    processor = require("transformers").DetrImageProcessor()
    (theirs,) = processor.post_process_panoptic_segmentation(
        outputs, threshold=threshold, label_ids_to_fuse=set(fuse), target_sizes=[target]
    )
    segmentation, segments = panoptic(
        outputs.logits[0].numpy(), outputs.pred_masks[0].numpy(), target, threshold, 0.5, 0.8, fuse
    )
    want = theirs["segmentation"].numpy()
    if not theirs["segments_info"]:
        want = np.zeros_like(want, dtype=np.int32)  # transformers marks "nothing found" with -1
    ours = [{**s.__dict__, "score": pytest.approx(s.score, abs=2e-6)} for s in segments]
    assert ours == theirs["segments_info"]  # scores: numpy's and torch's softmax round apart by 1e-7
    differ = segmentation != want
    if differ.any():  # OpenCV's and torch's bilinear resize differ by ~1e-6: only exact ties may flip
        assert differ.mean() < 0.01
        assert float(vote_margin(outputs, target, threshold)[differ].max()) < 1e-4
    return len(segments)


def vote_margin(outputs: SimpleNamespace, target: tuple[int, int], threshold: float) -> np.ndarray:
    """Per pixel: the winning query's weighted mask probability minus the runner-up's."""
    scores, labels = outputs.logits[0].softmax(-1).max(-1)
    keep = (labels != outputs.logits.shape[-1] - 1) & (scores > threshold)
    probs = torch.nn.functional.interpolate(
        outputs.pred_masks[0][keep].sigmoid()[None], size=target, mode="bilinear", align_corners=False
    )[0] * scores[keep].view(-1, 1, 1)
    top = probs.topk(min(2, len(probs)), dim=0).values
    return (top[0] - top[-1]).numpy() if len(top) > 1 else np.ones(target)


@pytest.mark.parametrize("fuse", [frozenset(), frozenset({1, 2})], ids=["things", "stuff-fused"])
def test_post_processing_equals_transformers(fuse: frozenset[int]) -> None:
    found = [assert_same(synthetic_outputs(seed), (45, 61), 0.5, fuse) for seed in range(6)]
    assert sum(found) >= 8 and max(found) >= 3, found


def test_post_processing_of_the_models_own_outputs_equals_transformers(detr_export: Exported) -> None:
    found = 0
    for image in frames(DETR_HW):
        out = eager_outputs(detr_export, image)
        outputs = SimpleNamespace(logits=out.logits, pred_masks=out.pred_masks)
        found += assert_same(outputs, (image.shape[0] + 7, image.shape[1] - 5), 0.3, frozenset({0}))
    assert found > 0


def instance_set(classes: np.ndarray, masks: np.ndarray, scores: np.ndarray) -> list[tuple[int, int, float]]:
    return sorted(
        (int(c), int(m.sum()), round(float(s), 5)) for c, m, s in zip(classes, masks, scores, strict=True)
    )


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_the_export_runs_end_to_end(detr_export: Exported, backend: str) -> None:
    engine = load_engine(EngineConfig(model=detr_export.path, device="cpu", backend=backend, conf=0.3))
    assert isinstance(engine, DetrEngine) and engine.names == NAMES
    image = frames(DETR_HW, count=1)[0]
    (det,) = engine.infer([image])
    out = engine.session.run({engine.input_name: as_tensor(image)[None].numpy()})
    seg, segments = panoptic(out["logits"][0], out["pred_masks"][0], DETR_HW, 0.3, 0.5, 0.8, frozenset())
    want = as_instances(seg, segments, keep_stuff=True)
    got = instance_set(det.class_ids.numpy(), det.masks.numpy(), det.scores.numpy())
    assert got == instance_set(want.class_ids, want.masks, want.scores) and got
    assert not (det.masks.numpy().sum(0) > 1).any()  # panoptic: a pixel belongs to one segment


def test_stuff_regions_fuse_into_one_instance_or_are_dropped(detr_export: Exported) -> None:
    image = frames(DETR_HW, count=1)[0]
    things = load_engine(EngineConfig(model=detr_export.path, device="cpu", conf=0.3))
    fused = load_engine(
        EngineConfig(model=detr_export.path, device="cpu", conf=0.3, panoptic={"stuff": ["scratch"]})
    )
    dropped = load_engine(
        EngineConfig(
            model=detr_export.path,
            device="cpu",
            conf=0.3,
            panoptic={"stuff": ["scratch"], "keep_stuff": False},
        )
    )
    (a,), (b,), (c,) = things.infer([image]), fused.infer([image]), dropped.infer([image])
    scratch = NAMES.index("scratch")
    assert (a.class_ids == scratch).sum() >= 2, "no two scratch segments to fuse"
    assert (b.class_ids == scratch).sum() == 1 and (c.class_ids == scratch).sum() == 0
    assert b.masks[b.class_ids == scratch].sum() >= a.masks[a.class_ids == scratch].sum()
    assert (a.class_ids != scratch).sum() == (c.class_ids != scratch).sum()
