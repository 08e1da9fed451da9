"""A SAM-family model prompted by boxes, run from its exported pair with numpy and OpenCV only.

The steps are ultralytics' SAM predictor's: letterbox to the encoder's square input (resized with
bilinear interpolation, padded bottom and right with grey 114), RGB, ImageNet normalisation; box
prompts scaled by the letterbox gain; the decoder's single low-resolution mask cropped to the
image's part and upsampled bilinearly to the frame, thresholded at 0."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inspector.engine.refine.pair import PAD_VALUE, PIXEL_MEAN, PIXEL_STD, SamPair, read_pair
from inspector.engine.refine.sessions import Graph, open_graph

MEAN = np.array(PIXEL_MEAN, dtype=np.float32)
STD = np.array(PIXEL_STD, dtype=np.float32)


@dataclass(frozen=True)
class Embedded:
    """One frame through the encoder: its outputs, shape and letterbox gain."""

    outputs: tuple[np.ndarray, ...]
    shape: tuple[int, int]  # (h, w) of the frame
    gain: float
    ms: float


def letterbox(bgr: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """(1, 3, side, side) float32 encoder input and the gain (input px per frame px)."""
    h, w = bgr.shape[:2]
    gain = min(side / h, side / w)
    size = (max(round(w * gain), 1), max(round(h * gain), 1))
    image = bgr if size == (w, h) else cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(
        image, 0, side - size[1], 0, side - size[0], cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    normalised = (padded[..., ::-1].astype(np.float32) - MEAN) / STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]), gain


def upsample(logits: np.ndarray, shape: tuple[int, int], gain: float, side: int) -> np.ndarray:
    """The low-resolution logits' image part, bilinearly resized to the frame (h, w): the source
    span may be fractional, each output pixel samples at ``(x + 0.5) * span / w - 0.5``."""
    h, w = shape
    m = logits.shape[-1]
    span_h, span_w = round(h * gain) * m / side, round(w * gain) * m / side
    if span_h.is_integer() and span_w.is_integer():  # float resize: exact weights
        crop = logits[: int(span_h), : int(span_w)]
        return cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
    crop = logits[: min(math.ceil(span_h) + 1, m), : min(math.ceil(span_w) + 1, m)]
    sx, sy = span_w / w, span_h / h
    affine = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]], dtype=np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(crop, affine, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)


class SamRefiner:
    """Box prompts → masks at frame resolution, with one encoder run per frame."""

    def __init__(self, pair: SamPair, encoder: Graph, decoder: Graph) -> None:
        self.pair = pair
        self._encoder = encoder
        self._decoder = decoder

    @classmethod
    def open(cls, path: Path, backend: str, threads: int | None = None, precision: str = "f32") -> SamRefiner:
        pair = read_pair(path)
        encoder = open_graph(pair.encoder, backend, threads, precision)
        return cls(pair, encoder, open_graph(pair.decoder, backend, threads, precision))

    def embed(self, bgr: np.ndarray) -> Embedded:
        start = time.perf_counter()
        image, gain = letterbox(bgr, self.pair.imgsz)
        outputs = tuple(self._encoder({"image": image}))
        ms = (time.perf_counter() - start) * 1000.0
        return Embedded(outputs, (int(bgr.shape[0]), int(bgr.shape[1])), gain, ms)

    def logits(self, embedded: Embedded, box: np.ndarray) -> tuple[np.ndarray, float]:
        """Low-resolution mask logits (m, m) and predicted IoU of one box (x1, y1, x2, y2, frame px)."""
        prompt = (np.asarray(box, dtype=np.float32).reshape(1, 4) * np.float32(embedded.gain)).astype(
            np.float32
        )
        inputs = dict(zip(self.pair.embeddings, embedded.outputs, strict=True))
        low, iou = self._decoder({**inputs, "box": prompt})
        return low[0, 0], float(iou.reshape(-1)[0])

    def mask(self, embedded: Embedded, box: np.ndarray) -> tuple[np.ndarray, float]:
        """The mask (h, w) bool of one box at frame resolution, and its predicted IoU."""
        low, iou = self.logits(embedded, box)
        return upsample(low, embedded.shape, embedded.gain, self.pair.imgsz) > 0.0, iou
