"""Commissioning figures of one camera image: brightness histogram, clipped pixels, focus.

What an engineer looks at to focus, light and frame the part: a histogram piled at either end
means over- or under-exposure (the clipped shares say how much), and the variance of the
Laplacian rises as the image gets sharper (compare values of the same scene, not across scenes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

BINS = 64


@dataclass(frozen=True, slots=True)
class SetupFigures:
    """Figures of one frame, over its whole image (the ROI when preprocessing crops to one)."""

    histogram: tuple[int, ...]  # BINS counts of grey levels 0..255
    dark_share: float  # pixels at 0
    bright_share: float  # pixels at 255
    focus: float  # variance of the Laplacian of the grey image
    width: int
    height: int

    def as_json(self) -> dict[str, Any]:
        return {
            "histogram": list(self.histogram),
            "clipped_dark": round(self.dark_share, 5),
            "clipped_bright": round(self.bright_share, 5),
            "clipped": round(self.dark_share + self.bright_share, 5),
            "focus": round(self.focus, 2),
            "width": self.width,
            "height": self.height,
        }


def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def setup_figures(image: np.ndarray) -> SetupFigures:
    """The figures of a BGR (or grey) uint8 image."""
    g = grey(image)
    counts = cv2.calcHist([g], [0], None, [BINS], [0, 256]).ravel().astype(np.int64)
    total = max(1, g.size)
    dark = int(np.count_nonzero(g == 0))
    bright = int(np.count_nonzero(g == 255))
    focus = float(cv2.Laplacian(g, cv2.CV_64F).var())
    return SetupFigures(
        tuple(int(c) for c in counts), dark / total, bright / total, focus, int(g.shape[1]), int(g.shape[0])
    )
