"""The exported SAM pair against ultralytics' SAM predictor on the same random weights and box
prompts: masks IoU >= 0.98 (MobileSAM and SAM 2.1-t; ONNX Runtime and OpenVINO f32)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inspector.engine.refine import SamRefiner
from inspector.engine.refine.sam import upsample
from tests.engine.refine.conftest import require_ultralytics, textured_frame

# 600x451: the letterboxed height is 770 px, so the mask's image part is 192.5 rows of 256: the
# fractional-span path of the upsampling (the common case for camera frames)
FRAME = textured_frame(451, 600, seed=3)
BOXES = np.array([[40, 50, 260, 300], [300, 80, 580, 420], [10, 10, 120, 440]], dtype=np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture(scope="module")
def reference(
    sam_models: Callable[[str], tuple[Any, Path, Path]],
) -> Callable[[str], list[tuple[np.ndarray, float]]]:
    """ultralytics' masks and scores for BOXES on FRAME, per architecture (one encoder run each)."""
    made: dict[str, list[tuple[np.ndarray, float]]] = {}

    def get(arch: str) -> list[tuple[np.ndarray, float]]:
        if arch not in made:
            from ultralytics.models.sam.predict import Predictor, SAM2Predictor

            model = sam_models(arch)[0]
            kind = SAM2Predictor if arch.startswith("sam2") else Predictor
            predictor = kind(overrides={"conf": 0.0, "imgsz": 1024, "verbose": False, "save": False})
            threads = torch.get_num_threads()
            predictor.setup_model(model=model, verbose=False)
            torch.set_num_threads(threads)
            predictor.set_image(FRAME)
            results = [predictor(bboxes=box[None])[0] for box in BOXES]
            made[arch] = [(r.masks.data[0].numpy(), float(r.boxes.conf[0])) for r in results]
        return made[arch]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arch", "backend"),
    [
        ("sam-mobile", "onnxruntime"),
        ("sam-mobile", "openvino"),
        ("sam2.1-t", "onnxruntime"),
        ("sam2.1-t", "openvino"),
        ("sam-vit-b", "onnxruntime"),  # 94 M parameters: a 3-minute export here, one runtime is enough
    ],
)
def test_masks_match_the_ultralytics_predictor(
    arch: str,
    backend: str,
    sam_models: Callable[[str], tuple[Any, Path, Path]],
    reference: Callable[[str], list[tuple[np.ndarray, float]]],
) -> None:
    refiner = SamRefiner.open(sam_models(arch)[2], backend)
    assert refiner.pair.arch == arch
    embedded = refiner.embed(FRAME)
    for box, (want, want_score) in zip(BOXES, reference(arch), strict=True):
        got, score = refiner.mask(embedded, box)
        assert got.shape == FRAME.shape[:2] and got.dtype == bool
        assert want.sum() > 1000  # a real mask, not an empty one matching an empty one
        assert iou(got, want) >= 0.98, (arch, backend, box, iou(got, want))
        assert score == pytest.approx(want_score, abs=1e-3)


@pytest.mark.parametrize("shape", [(480, 640), (451, 600), (1080, 1920), (300, 1001), (1024, 1024)])
def test_upsampling_matches_ultralytics_scale_masks(shape: tuple[int, int]) -> None:
    """The crop and resize outside the graph equal the predictor's postprocess (thresholded at 0)."""
    require_ultralytics()
    from ultralytics.utils import ops

    rng = np.random.default_rng(shape[0])
    logits = rng.normal(size=(16, 16)).astype(np.float32)
    low = torch.nn.functional.interpolate(
        torch.from_numpy(logits)[None, None], size=(256, 256), mode="bilinear"
    )[0, 0]
    gain = min(1024 / shape[0], 1024 / shape[1])
    ratio = (round(shape[0] * gain) / 4 / shape[0], round(shape[1] * gain) / 4 / shape[1])
    want = ops.scale_masks(low[None, None], shape, (ratio, (0.0, 0.0)), padding=False)[0, 0] > 0
    got = upsample(low.numpy(), shape, gain, 1024) > 0
    assert iou(got, want.numpy()) >= 0.995
