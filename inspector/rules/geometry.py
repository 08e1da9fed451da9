"""Shape geometry of one binary mask crop with OpenCV.

Works on a small crop (the instance's box plus a margin) rather than the full
frame: contour tracing costs grow with the image, not with the instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class ContourGeometry:
    """Contour-based shape measurements of one instance, in image pixels."""

    perimeter: float  # length of the outer boundary polygons (see SMOOTHING_PX)
    polygon_area: float  # area of the outer boundary polygons minus holes (same polygons)
    hull_area: float  # convex hull of the outer boundary polygons
    rect_w: float  # minimum-area rectangle, long side, whole pixels
    rect_h: float  # short side
    rect_angle: float  # long side direction, degrees in [0, 180), +x toward +y
    holes: int
    points: np.ndarray  # (K, 2) float64 outer boundary pixel centres, image coordinates

    @property
    def circularity(self) -> float:
        """4πA/P² with A and P from the same polygons: 1 for a disk, π/4 for a square."""
        if self.perimeter <= 0.0:
            return 0.0
        return 4.0 * math.pi * self.polygon_area / (self.perimeter * self.perimeter)

    @property
    def solidity(self) -> float:
        """Polygon area over its convex hull's area (smoothed polygons, so pixel steps do not count)."""
        if self.hull_area <= 0.0:
            return 1.0  # a line or a single pixel: nothing is missing from its hull
        return min(1.0, self.polygon_area / self.hull_area)

    @property
    def aspect_ratio(self) -> float:
        return self.rect_w / self.rect_h


EMPTY_GEOMETRY = ContourGeometry(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, np.zeros((0, 2)))

# Boundary polygons are simplified to this tolerance before measuring length and
# area: it removes the pixel staircase that makes a digital disk's 8-connected
# boundary ~6 % longer than its circle (circularity 0.89 instead of ~0.99).
SMOOTHING_PX = 1.0


def contour_geometry(crop: np.ndarray, origin: tuple[int, int]) -> ContourGeometry:
    """Measure the mask in ``crop`` (uint8 0/1, C-contiguous) whose top-left is at ``origin`` (x, y)."""
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE, offset=origin)
    if not contours:
        return EMPTY_GEOMETRY
    parents = hierarchy[0][:, 3]
    outer = [c for c, parent in zip(contours, parents, strict=True) if parent < 0]
    holes = [c for c, parent in zip(contours, parents, strict=True) if parent >= 0]
    smooth_outer = [cv2.approxPolyDP(c, SMOOTHING_PX, True) for c in outer]
    perimeter = sum(cv2.arcLength(c, True) for c in smooth_outer)
    area = sum(cv2.contourArea(c) for c in smooth_outer) - sum(
        cv2.contourArea(cv2.approxPolyDP(c, SMOOTHING_PX, True)) for c in holes
    )
    points = np.concatenate(outer).reshape(-1, 2)
    hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(smooth_outer)))
    rect_w, rect_h, angle = _min_area_rect(points)
    return ContourGeometry(
        perimeter=float(perimeter),
        polygon_area=float(max(area, 0.0)),
        hull_area=float(hull_area),
        rect_w=rect_w,
        rect_h=rect_h,
        rect_angle=angle,
        holes=len(holes),
        points=points.astype(np.float64),
    )


def _min_area_rect(points: np.ndarray) -> tuple[float, float, float]:
    """(long side, short side, long side angle) of the minimum-area rectangle, in whole pixels.

    The angle is taken from the rectangle's corners rather than OpenCV's angle
    field, whose convention changed between OpenCV releases.
    """
    rect = cv2.minAreaRect(points)
    corners = cv2.boxPoints(rect)
    edge_a = corners[1] - corners[0]
    edge_b = corners[2] - corners[1]
    len_a, len_b = float(np.hypot(*edge_a)), float(np.hypot(*edge_b))
    long_edge = edge_a if len_a >= len_b else edge_b
    angle = math.degrees(math.atan2(float(long_edge[1]), float(long_edge[0]))) % 180.0
    if angle >= 179.9995:  # rounding of a horizontal edge pointing left
        angle = 0.0
    # Boundary pixel centres span one pixel less than the pixels themselves.
    return max(len_a, len_b) + 1.0, min(len_a, len_b) + 1.0, angle


def nearest_distance(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> float:
    """Smallest Euclidean distance between two point sets (K, 2); inf when either is empty."""
    if len(a) == 0 or len(b) == 0:
        return math.inf
    if len(a) > len(b):
        a, b = b, a
    best = math.inf
    for start in range(0, len(a), chunk):
        part = a[start : start + chunk]
        d2 = ((part[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        best = min(best, float(d2.min()))
    return math.sqrt(best)
