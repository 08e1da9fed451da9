"""Camera pixel formats to the BGR uint8 frames the engine takes.

Bayer: GenICam names a mosaic by its top-left 2x2 (BayerRG8: R G / G B); OpenCV names it by
the second and third pixel of its second row, so GenICam's RG is OpenCV's BG, and so on.
"""

from __future__ import annotations

import cv2
import numpy as np

BAYER_TO_BGR = {
    "BayerRG8": cv2.COLOR_BayerBG2BGR,
    "BayerBG8": cv2.COLOR_BayerRG2BGR,
    "BayerGR8": cv2.COLOR_BayerGB2BGR,
    "BayerGB8": cv2.COLOR_BayerGR2BGR,
}
MONO_BITS = {"Mono8": 8, "Mono10": 10, "Mono12": 12}


class PixelFormatError(ValueError):
    """A buffer whose layout does not match its pixel format."""


def to_bgr(buffer: np.ndarray, pixel_format: str) -> np.ndarray:
    """A new contiguous H x W x 3 uint8 BGR frame from a driver buffer (which is not kept)."""
    if pixel_format in MONO_BITS:
        return cv2.cvtColor(_mono8(buffer, MONO_BITS[pixel_format]), cv2.COLOR_GRAY2BGR)
    if pixel_format in BAYER_TO_BGR:
        return cv2.cvtColor(_plane(buffer, np.uint8), BAYER_TO_BGR[pixel_format])
    if pixel_format in ("RGB8", "BGR8"):
        if buffer.ndim != 3 or buffer.shape[2] != 3 or buffer.dtype != np.uint8:
            raise PixelFormatError(f"{pixel_format} buffer has shape {buffer.shape} {buffer.dtype}")
        if pixel_format == "RGB8":
            return cv2.cvtColor(buffer, cv2.COLOR_RGB2BGR)
        return np.array(buffer, copy=True, order="C")
    raise PixelFormatError(f"pixel format {pixel_format} is not supported")


def _plane(buffer: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    if buffer.ndim != 2 or buffer.dtype != dtype:
        raise PixelFormatError(f"expected a 2-D {np.dtype(dtype)} buffer, got {buffer.shape} {buffer.dtype}")
    return buffer


def _mono8(buffer: np.ndarray, bits: int) -> np.ndarray:
    """8-bit grey: 10/12-bit data (unpacked into 16-bit words) keeps its top 8 bits."""
    if bits == 8:
        return _plane(buffer, np.uint8)
    scaled = _plane(buffer, np.uint16) >> (bits - 8)
    return np.minimum(scaled, 255).astype(np.uint8)  # a stray high bit saturates, never wraps
