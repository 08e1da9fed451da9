"""DETR panoptic: the numpy post-processing equals transformers'
``post_process_panoptic_segmentation`` (segmentation map and segments, with and without fused
stuff classes), and the exported graph (ONNX Runtime, OpenVINO) runs it end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.archs.detr import DetrEngine, as_instances, panoptic
from tests.engine.archs.conftest import Exported
from tests.support.archs import DETR_HW, NAMES, as_tensor, frames, require


def eager_outputs(exported: Exported, image: np.ndarray) -> object:
    transformers = require("transformers")
    model = transformers.DetrForSegmentation.from_pretrained(str(exported.source)).eval()
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(pixel_values=(as_tensor(image)[None] - mean) / std)


@pytest.mark.parametrize("fuse", [frozenset(), frozenset({2})], ids=["things", "stuff-fused"])
def test_post_processing_equals_transformers(detr_export: Exported, fuse: frozenset[int]) -> None:
    transformers = require("transformers")
    processor = transformers.DetrImageProcessor()
    segments_seen = 0
    for image in frames(DETR_HW):
        out = eager_outputs(detr_export, image)
        target = (image.shape[0] + 7, image.shape[1] - 5)  # an upsampling target of its own size
        (theirs,) = processor.post_process_panoptic_segmentation(
            out, threshold=0.3, label_ids_to_fuse=set(fuse), target_sizes=[target]
        )
        segmentation, segments = panoptic(
            out.logits[0].numpy(), out.pred_masks[0].numpy(), target, 0.3, 0.5, 0.8, fuse
        )
        want = theirs["segmentation"].numpy()
        if not theirs["segments_info"]:
            want = np.zeros_like(want, dtype=np.int32)  # transformers marks "nothing" with -1
        assert np.array_equal(segmentation, want)
        assert [s.__dict__ for s in segments] == theirs["segments_info"]
        segments_seen += len(segments)
    assert segments_seen > 0


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
        EngineConfig(model=detr_export.path, device="cpu", conf=0.3, panoptic={"stuff": ["stain"]})
    )
    dropped = load_engine(
        EngineConfig(
            model=detr_export.path, device="cpu", conf=0.3, panoptic={"stuff": ["stain"], "keep_stuff": False}
        )
    )
    (a,), (b,), (c,) = things.infer([image]), fused.infer([image]), dropped.infer([image])
    stain = NAMES.index("stain")
    assert (b.class_ids == stain).sum() <= 1 and (c.class_ids == stain).sum() == 0
    assert (a.class_ids != stain).sum() == (c.class_ids != stain).sum()
