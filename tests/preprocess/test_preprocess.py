"""Preprocessing steps: each a small callable; the chain applies them in order."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from inspector.preprocess import Chain
from inspector.preprocess.config import PreprocessStep

STEPS = TypeAdapter(list[PreprocessStep])


def chain(*steps: dict[str, object]) -> Chain:
    return Chain.from_config(STEPS.validate_python(list(steps)))


def frame(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_roi_then_resize() -> None:
    out = chain(
        {"step": "roi", "x": 10, "y": 5, "width": 40, "height": 30},
        {"step": "resize", "width": 20, "height": 16},
    )(frame())
    assert out.shape == (16, 20, 3) and out.dtype == np.uint8


def test_roi_clips_at_the_frame_edge_and_refuses_an_origin_outside() -> None:
    assert chain({"step": "roi", "x": 70, "y": 50, "width": 100, "height": 100})(frame()).shape == (10, 10, 3)
    with pytest.raises(ValueError, match="outside"):
        chain({"step": "roi", "x": 200, "y": 0, "width": 10, "height": 10})(frame())


@pytest.mark.parametrize("method", ["gaussian", "median", "bilateral"])
def test_denoise_reduces_noise(method: str) -> None:
    image = frame()
    out = chain({"step": "denoise", "method": method, "ksize": 5})(image)
    assert out.shape == image.shape
    assert float(np.abs(np.diff(out.astype(float), axis=1)).mean()) < float(
        np.abs(np.diff(image.astype(float), axis=1)).mean()
    )


def test_white_balance_gains_per_channel() -> None:
    image = np.full((4, 4, 3), 100, np.uint8)
    out = chain({"step": "white_balance", "gains": [1.0, 0.5, 2.0]})(image)
    assert out[0, 0].tolist() == [100, 50, 200]


def test_gamma_brightens_midtones_and_keeps_ends() -> None:
    image = np.array([[[0, 128, 255]]], np.uint8)
    out = chain({"step": "gamma", "gamma": 2.0})(image)
    assert out[0, 0, 0] == 0 and out[0, 0, 2] == 255 and out[0, 0, 1] > 128


def test_clahe_spreads_a_low_contrast_image() -> None:
    image = np.tile(np.linspace(100, 130, 64, dtype=np.uint8), (64, 1))[:, :, None].repeat(3, axis=2)
    out = chain({"step": "clahe", "clip_limit": 4.0, "tiles": 4})(image)
    assert int(out.max()) - int(out.min()) > 30


def test_empty_chain_is_identity() -> None:
    image = frame()
    assert chain()(image) is image


@pytest.mark.parametrize(
    "bad",
    [
        {"step": "denoise", "ksize": 4},
        {"step": "white_balance", "gains": [1, 1, 9]},
        {"step": "gamma", "gamma": 0},
        {"step": "resize", "width": 0, "height": 10},
        {"step": "sharpen"},
    ],
)
def test_bad_steps_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        STEPS.validate_python([bad])
