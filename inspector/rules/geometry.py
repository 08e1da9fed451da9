"""Shape geometry of one binary mask crop with OpenCV, measured lazily.

Works on a small crop (the instance's box plus a margin) rather than the full
frame: contour tracing costs grow with the image, not with the instance. Each
quantity is computed on first use, so a rule on holes never pays for the
minimum-area rectangle.
"""

from __future__ import annotations

import math
from functools import cached_property

import cv2
import numpy as np

# Boundary polygons are simplified to this tolerance before measuring length and
# area: it removes the pixel staircase that makes a digital disk's 8-connected
# boundary ~6 % longer than its circle (circularity 0.89 instead of ~0.99).
SMOOTHING_PX = 1.0


class Shape:
    """Contour-based measurements of one instance, in image pixels.

    Conventions: boundaries run through boundary pixel centres; ``perimeter`` is
    the outer boundary only (holes excluded); rectangle sides count whole pixels.
    """

    def __init__(self, crop: np.ndarray, origin: tuple[int, int]) -> None:
        """``crop``: uint8 0/1, C-contiguous; ``origin``: its top-left (x, y) in the image."""
        self._crop = crop
        self._origin = origin

    @cached_property
    def _contours(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Outer boundaries and hole boundaries, traced once, on first use."""
        contours, hierarchy = cv2.findContours(
            self._crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE, offset=self._origin
        )
        if not contours:
            return [], []
        parents = hierarchy[0][:, 3]
        outer = [c for c, parent in zip(contours, parents, strict=True) if parent < 0]
        holes = [c for c, parent in zip(contours, parents, strict=True) if parent >= 0]
        return outer, holes

    @property
    def _outer(self) -> list[np.ndarray]:
        return self._contours[0]

    @property
    def _holes(self) -> list[np.ndarray]:
        return self._contours[1]

    @property
    def traced(self) -> bool:
        """Whether any contour has been traced yet."""
        return any(key in self.__dict__ for key in ("_contours", "outer_points", "boundary_points"))

    @property
    def holes(self) -> int:
        return len(self._holes)

    @cached_property
    def _smooth_outer(self) -> list[np.ndarray]:
        return [cv2.approxPolyDP(c, SMOOTHING_PX, True) for c in self._outer]

    @cached_property
    def perimeter(self) -> float:
        """Length of the outer boundary polygons (smoothed, see SMOOTHING_PX)."""
        return float(sum(cv2.arcLength(c, True) for c in self._smooth_outer))

    @cached_property
    def polygon_area(self) -> float:
        """Area of the outer polygons minus the holes' (the same polygons as ``perimeter``)."""
        outer = sum(cv2.contourArea(c) for c in self._smooth_outer)
        holes = sum(cv2.contourArea(cv2.approxPolyDP(c, SMOOTHING_PX, True)) for c in self._holes)
        return float(max(outer - holes, 0.0))

    @cached_property
    def circularity(self) -> float:
        """4πA/P² with A and P from the same polygons: ~1 for a disk, π/4 for a square."""
        if self.perimeter <= 0.0:
            return 0.0
        return 4.0 * math.pi * self.polygon_area / (self.perimeter * self.perimeter)

    @cached_property
    def solidity(self) -> float:
        """Polygon area over its convex hull's area (smoothed polygons: pixel steps do not count)."""
        if not self._outer:
            return 1.0
        hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(self._smooth_outer)))
        if hull_area <= 0.0:
            return 1.0  # a line or a single pixel: nothing is missing from its hull
        return min(1.0, self.polygon_area / hull_area)

    @cached_property
    def _rect(self) -> tuple[float, float, float]:
        if not self._outer:
            return 0.0, 0.0, 0.0
        return min_area_rect(np.concatenate(self._outer))

    @property
    def rect_w(self) -> float:
        """Minimum-area rectangle, long side, whole pixels."""
        return self._rect[0]

    @property
    def rect_h(self) -> float:
        return self._rect[1]

    @property
    def rect_angle(self) -> float:
        """Long side direction in degrees [0, 180), from +x toward +y (clockwise on screen)."""
        return self._rect[2]

    @property
    def aspect_ratio(self) -> float:
        return self.rect_w / self.rect_h if self.rect_h > 0 else 0.0

    @cached_property
    def outer_points(self) -> np.ndarray:
        """(K, 2) float64 centres of every outer boundary pixel, image coordinates: the nearest
        pixels to anything outside the instance's box."""
        return self._points(cv2.RETR_EXTERNAL)

    @cached_property
    def boundary_points(self) -> np.ndarray:
        """Like ``outer_points`` plus the holes' edges: something inside a hole is nearest to
        the hole's edge, not to the outer one."""
        return self._points(cv2.RETR_LIST)

    def _points(self, mode: int) -> np.ndarray:
        contours, _ = cv2.findContours(self._crop, mode, cv2.CHAIN_APPROX_NONE, offset=self._origin)
        if not contours:
            return np.zeros((0, 2))
        return np.concatenate(contours).reshape(-1, 2).astype(np.float64)


def min_area_rect(points: np.ndarray) -> tuple[float, float, float]:
    """(long side, short side, long side angle) of the minimum-area rectangle, in whole pixels.

    OpenCV's ``RotatedRect`` puts its width along ``angle`` (x toward y), whatever
    range ``minAreaRect`` returns that angle in (the range changed between
    releases), so the long side's direction follows from which side is longer.
    """
    (_, _), (width, height), angle = cv2.minAreaRect(points)
    if height > width:
        width, height, angle = height, width, angle + 90.0
    angle %= 180.0
    if angle >= 179.9995:  # rounding of a horizontal long side
        angle = 0.0
    # Boundary pixel centres span one pixel less than the pixels themselves.
    return float(width) + 1.0, float(height) + 1.0, float(angle)


def nearest_distance(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> float:
    """Smallest Euclidean distance between two point sets (K, 2); inf when either is empty.

    Exact. A cheap upper bound first (a's point nearest b's mean, then b's point
    nearest that) prunes every point farther than it from the other set's box:
    such a point cannot be in a closer pair.
    """
    if len(a) == 0 or len(b) == 0:
        return math.inf
    pa = a[np.argmin(((a - b.mean(axis=0)) ** 2).sum(axis=1))]
    # Slack so rounding cannot prune the very pair that gave the bound.
    bound = float(np.sqrt(((b - pa) ** 2).sum(axis=1).min())) * (1 + 1e-9) + 1e-9
    a_near = a[_distance_to_box(a, b) <= bound]
    b_near = b[_distance_to_box(b, a) <= bound]
    if len(a_near) > len(b_near):
        a_near, b_near = b_near, a_near
    best = math.inf  # the pair that gave the bound survives the pruning
    for start in range(0, len(a_near), chunk):
        part = a_near[start : start + chunk]
        d2 = ((part[:, None, :] - b_near[None, :, :]) ** 2).sum(axis=2)
        best = min(best, float(d2.min()))
    return math.sqrt(best)


def _distance_to_box(points: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Distance from each point to the axis-aligned box of ``other``."""
    low, high = other.min(axis=0), other.max(axis=0)
    gap = np.maximum(0.0, np.maximum(low - points, points - high))
    return np.hypot(gap[:, 0], gap[:, 1])
