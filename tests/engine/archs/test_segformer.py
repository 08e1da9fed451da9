"""SegFormer exported by ``inspector model export DIR --arch segformer`` and run by the engine:
the class map is identical to transformers' eager argmax (logits upsampled to the frame, as
``post_process_semantic_segmentation``), on ONNX Runtime and OpenVINO; the instances are
exactly OpenCV's connected components of that map (8-connected, at least min_area_px)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.archs.segformer import SegformerEngine
from tests.engine.archs.conftest import Exported
from tests.support.archs import NAMES, SEGFORMER_HW, as_tensor, frames, require

pytestmark = pytest.mark.timeout(1800)  # tests that build and export a model first (session fixture)


def eager_class_map(exported: Exported, image: np.ndarray) -> np.ndarray:
    transformers = require("transformers")
    model = transformers.SegformerForSemanticSegmentation.from_pretrained(str(exported.source)).eval()
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model(pixel_values=(as_tensor(image)[None] - mean) / std).logits
    up = torch.nn.functional.interpolate(logits, size=image.shape[:2], mode="bilinear", align_corners=False)
    return up.argmax(1)[0].numpy()


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_class_map_is_transformers_argmax(segformer_export: Exported, backend: str) -> None:
    engine = load_engine(EngineConfig(model=segformer_export.path, device="cpu", backend=backend))
    assert isinstance(engine, SegformerEngine) and engine.names == NAMES
    seen: set[int] = set()
    for image in frames(SEGFORMER_HW):
        mine, _ = engine.class_map(image)
        theirs = eager_class_map(segformer_export, image)
        assert np.array_equal(mine, theirs)
        seen |= set(np.unique(theirs).tolist())
    assert len(seen) >= 2, "a class map of one class compares nothing"


def test_instances_are_the_connected_components_of_the_class_map(segformer_export: Exported) -> None:
    min_area = 12
    engine = load_engine(
        EngineConfig(model=segformer_export.path, device="cpu", conf=0.0, semantic={"min_area_px": min_area})
    )
    assert isinstance(engine, SegformerEngine)
    for image in frames(SEGFORMER_HW, seed=4):
        class_map, prob = engine.class_map(image)
        (det,) = engine.infer([image])
        want = []
        for c in range(len(NAMES)):
            count, labels = cv2.connectedComponents((class_map == c).astype(np.uint8), connectivity=8)
            for k in range(1, count):
                region = labels == k
                if region.sum() >= min_area:
                    want.append((c, region, float(prob[region].mean())))
        assert len(det) == len(want) > 0
        got = sorted(
            zip(det.class_ids.tolist(), det.masks.numpy(), det.scores.tolist(), strict=True),
            key=lambda t: (t[0], np.flatnonzero(t[1])[0]),
        )
        want.sort(key=lambda t: (t[0], np.flatnonzero(t[1])[0]))
        for (gc, gm, gs), (wc, wm, ws) in zip(got, want, strict=True):
            assert gc == wc and np.array_equal(gm, wm) and gs == pytest.approx(ws, abs=1e-5)
            assert 1 / len(NAMES) <= gs <= 1.0


def test_frames_of_another_size_give_a_map_at_their_size(segformer_export: Exported) -> None:
    engine = load_engine(EngineConfig(model=segformer_export.path, device="cpu", conf=0.0))
    (det,) = engine.infer([frames((200, 300), count=1)[0]])
    assert det.image_shape == (200, 300) and len(det) > 0
    assert det.masks.any(dim=0).sum() > 0.9 * 200 * 300  # small specks aside, every pixel has a class
