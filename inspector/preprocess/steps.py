"""Preprocessing steps: small callables ``image -> image`` behind one Protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from inspector.preprocess.config import (
    ClaheStep,
    DenoiseStep,
    GammaStep,
    PreprocessStep,
    ResizeStep,
    RoiStep,
    WhiteBalanceStep,
)

INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
}


class Step(Protocol):
    """One preprocessing step: a BGR uint8 frame in, a BGR uint8 frame out."""

    name: str

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


class Roi:
    name = "roi"

    def __init__(self, cfg: RoiStep) -> None:
        self._box = (cfg.x, cfg.y, cfg.x + cfg.width, cfg.y + cfg.height)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self._box
        height, width = image.shape[:2]
        if x0 >= width or y0 >= height:
            raise ValueError(f"roi origin ({x0}, {y0}) lies outside the {width}x{height} frame")
        return np.ascontiguousarray(image[y0 : min(y1, height), x0 : min(x1, width)])


class Resize:
    name = "resize"

    def __init__(self, cfg: ResizeStep) -> None:
        self._size = (cfg.width, cfg.height)
        self._interp = INTERPOLATION[cfg.interpolation]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if (image.shape[1], image.shape[0]) == self._size:
            return image
        return cv2.resize(image, self._size, interpolation=self._interp)


class Denoise:
    name = "denoise"

    def __init__(self, cfg: DenoiseStep) -> None:
        self._cfg = cfg

    def __call__(self, image: np.ndarray) -> np.ndarray:
        k, sigma = self._cfg.ksize, self._cfg.sigma
        if self._cfg.method == "gaussian":
            return cv2.GaussianBlur(image, (k, k), sigma)
        if self._cfg.method == "median":
            return cv2.medianBlur(image, k)
        sigma = sigma or 25.0
        return cv2.bilateralFilter(image, k, sigma, sigma)


class WhiteBalance:
    name = "white_balance"

    def __init__(self, cfg: WhiteBalanceStep) -> None:
        # one 256-entry table per channel: a lookup is much faster than float math per pixel
        self._luts = [
            np.clip(np.arange(256, dtype=np.float32) * g + 0.5, 0, 255).astype(np.uint8) for g in cfg.gains
        ]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        channels = [cv2.LUT(image[:, :, i], lut) for i, lut in enumerate(self._luts)]
        return cv2.merge(channels)


class Gamma:
    name = "gamma"

    def __init__(self, cfg: GammaStep) -> None:
        levels = np.arange(256, dtype=np.float64) / 255.0
        self._lut = np.clip(255.0 * levels ** (1.0 / cfg.gamma) + 0.5, 0, 255).astype(np.uint8)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return cv2.LUT(image, self._lut)


class Clahe:
    name = "clahe"

    def __init__(self, cfg: ClaheStep) -> None:
        self._clip = cfg.clip_limit
        self._tiles = (cfg.tiles, cfg.tiles)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        # a CLAHE object is not safe to share between threads; creating one is cheap
        clahe = cv2.createCLAHE(clipLimit=self._clip, tileGridSize=self._tiles)
        lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
        lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
        return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def build_step(cfg: PreprocessStep) -> Step:
    """The callable a config entry describes."""
    builders: dict[type, type] = {
        RoiStep: Roi,
        ResizeStep: Resize,
        DenoiseStep: Denoise,
        WhiteBalanceStep: WhiteBalance,
        GammaStep: Gamma,
        ClaheStep: Clahe,
    }
    step: Step = builders[type(cfg)](cfg)
    return step


class Chain:
    """The configured steps, applied in order."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)

    @classmethod
    def from_config(cls, configs: Sequence[PreprocessStep]) -> Chain:
        return cls([build_step(c) for c in configs])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        for step in self.steps:
            image = step(image)
        return image

    def __len__(self) -> int:
        return len(self.steps)
