"""Pixel → millimetre conversion for one camera: a fixed scale or a plane homography."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlaneScale:
    """Maps image pixels to the inspected plane in mm.

    With a homography the scale varies across the image; areas and lengths use the
    local scale at the instance's centroid (|det J| of the mapping), which is exact
    for a plane seen under perspective as long as the instance is small compared
    with the change of scale across it.
    """

    px_per_mm: float | None = None
    homography: np.ndarray | None = None  # 3x3, image px (x, y, 1) -> plane mm

    @property
    def is_uniform(self) -> bool:
        return self.homography is None

    def to_mm(self, x: float, y: float) -> tuple[float, float]:
        if self.homography is None:
            k = self._k()
            return x / k, y / k
        u, v, w = self.homography @ np.array([x, y, 1.0])
        with np.errstate(divide="ignore", invalid="ignore"):  # off the plane: NaN/inf, rules fire
            return float(u / w), float(v / w)

    def area_factor(self, x: float = 0.0, y: float = 0.0) -> float:
        """mm² per px² at (x, y)."""
        if self.homography is None:
            k = self._k()
            return 1.0 / (k * k)
        return abs(_jacobian_det(self.homography, x, y))

    def length_factor(self, x: float = 0.0, y: float = 0.0) -> float:
        """mm per px at (x, y) (isotropic approximation under a homography)."""
        return math.sqrt(self.area_factor(x, y))

    def _k(self) -> float:
        if self.px_per_mm is None:
            raise ValueError("no mm calibration for this camera (rules.calibration)")
        return self.px_per_mm


def _jacobian_det(h: np.ndarray, x: float, y: float) -> float:
    """det of d(u, v)/d(x, y) for (u, v) = H (x, y, 1) dehomogenised."""
    p = h @ np.array([x, y, 1.0])
    w = p[2]
    if w == 0.0:
        return math.nan  # the point maps to infinity: no scale there
    du_dx = (h[0, 0] * w - p[0] * h[2, 0]) / (w * w)
    du_dy = (h[0, 1] * w - p[0] * h[2, 1]) / (w * w)
    dv_dx = (h[1, 0] * w - p[1] * h[2, 0]) / (w * w)
    dv_dy = (h[1, 1] * w - p[1] * h[2, 1]) / (w * w)
    return float(du_dx * dv_dy - du_dy * dv_dx)


UNCALIBRATED = PlaneScale()
