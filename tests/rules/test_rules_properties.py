"""Property tests: features under translation (exactly invariant or shifted) and integer
scaling (pixel replication: areas x k², centroids k·c + (k-1)/2, lengths ~ x k)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.rules.calibration import PlaneScale
from inspector.rules.features import Feature as F
from inspector.rules.part import PartView
from tests.support.masks import detections

SCALE = PlaneScale(px_per_mm=5.0)
INVARIANT = [
    F.AREA_PX,
    F.PERIMETER_PX,
    F.CIRCULARITY,
    F.BBOX_W_PX,
    F.BBOX_H_PX,
    F.SOLIDITY,
    F.HOLES,
    F.EQUIVALENT_DIAMETER_PX,
    F.AREA_MM2,
]
# OpenCV's minimum-area rectangle works in float32 on absolute coordinates.
NEARLY_INVARIANT = [F.RECT_W_PX, F.RECT_H_PX, F.ASPECT_RATIO]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def blobs(draw: st.DrawFn) -> np.ndarray:
    """A small mask: an ellipse at some angle, maybe with an elliptic hole or a notch."""
    mask = np.zeros((48, 48), np.uint8)
    axes = (draw(st.integers(3, 18)), draw(st.integers(3, 18)))
    angle = draw(st.integers(0, 179))
    cv2.ellipse(mask, (24, 24), axes, angle, 0, 360, 1, -1)
    if draw(st.booleans()) and min(axes) > 6:
        cv2.ellipse(mask, (24, 24), (min(axes) // 3, min(axes) // 4), angle, 0, 360, 0, -1)
    if draw(st.booleans()):
        mask[24:, 24 : 24 + draw(st.integers(1, 10))] = 0
    return mask.astype(bool)


def measure(mask: np.ndarray, canvas: tuple[int, int], at: tuple[int, int]) -> dict[F, float]:
    frame = np.zeros(canvas, bool)
    y, x = at
    frame[y : y + mask.shape[0], x : x + mask.shape[1]] = mask
    part = PartView(detections([frame]), "cam0", SCALE)
    return {f: part.feature(0, f) for f in F}


@SETTINGS
@given(blobs(), st.integers(0, 150), st.integers(0, 90))
def test_translation_moves_the_centroid_and_nothing_else(mask: np.ndarray, dx: int, dy: int) -> None:
    if not mask.any():
        return
    here = measure(mask, (160, 220), (10, 20))
    there = measure(mask, (160, 220), (10 + dy, 20 + dx))
    for f in INVARIANT:
        assert there[f] == here[f], f
    for f in NEARLY_INVARIANT:
        assert abs(there[f] - here[f]) <= 1e-4 * here[f], f
    if here[F.ASPECT_RATIO] > 1.05:  # a near-square rectangle's long side is ambiguous
        turn = abs(there[F.RECT_ANGLE_DEG] - here[F.RECT_ANGLE_DEG]) % 180
        assert min(turn, 180 - turn) < 1e-3
    assert abs(there[F.CENTROID_X_PX] - here[F.CENTROID_X_PX] - dx) < 1e-6
    assert abs(there[F.CENTROID_Y_PX] - here[F.CENTROID_Y_PX] - dy) < 1e-6
    assert abs(there[F.CENTROID_X_MM] - here[F.CENTROID_X_MM] - dx / 5.0) < 1e-6


@SETTINGS
@given(blobs(), st.integers(2, 4))
def test_scaling_by_pixel_replication(mask: np.ndarray, k: int) -> None:
    if not mask.any():
        return
    big = np.kron(mask, np.ones((k, k), bool))
    small_f = measure(mask, (200, 200), (0, 0))
    big_f = measure(big, (200, 200), (0, 0))
    assert big_f[F.AREA_PX] == k * k * small_f[F.AREA_PX]
    assert abs(big_f[F.AREA_MM2] - k * k * small_f[F.AREA_MM2]) < 1e-9
    assert big_f[F.BBOX_W_PX] == k * small_f[F.BBOX_W_PX]
    assert abs(big_f[F.EQUIVALENT_DIAMETER_PX] - k * small_f[F.EQUIVALENT_DIAMETER_PX]) < 1e-9
    # Pixel (i, j) becomes the k x k block whose centre is k*i + (k-1)/2.
    assert abs(big_f[F.CENTROID_X_PX] - (k * small_f[F.CENTROID_X_PX] + (k - 1) / 2)) < 1e-6
    assert abs(big_f[F.CENTROID_Y_PX] - (k * small_f[F.CENTROID_Y_PX] + (k - 1) / 2)) < 1e-6
    assert big_f[F.HOLES] == small_f[F.HOLES]
    # Contour lengths run through pixel centres (one pixel short of the pixel extent) and the
    # staircase is smoothed at a fixed 1 px, so they scale only approximately, and only for
    # convex blobs: 1-px notches vanish in the smoothing at k = 1 but not at k = 4. Replicated
    # diagonal edges become real k-pixel staircases, up to √2 longer than the smoothed edge.
    rect_small = small_f[F.RECT_W_PX] * small_f[F.RECT_H_PX]
    rect_big = big_f[F.RECT_W_PX] * big_f[F.RECT_H_PX]
    assert 0.75 * k * k * rect_small <= rect_big <= 1.25 * k * k * rect_small
    small_p, big_p = small_f[F.PERIMETER_PX], big_f[F.PERIMETER_PX]
    if small_f[F.SOLIDITY] >= 0.97:
        assert 0.8 * k * small_p <= big_p <= 1.45 * k * (small_p + 4)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), min_size=1, max_size=40),
)
def test_pruned_nearest_distance_is_exact(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    from inspector.rules.geometry import nearest_distance

    pa, pb = np.asarray(a, float), np.asarray(b, float)
    brute = float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2).min()))
    assert nearest_distance(pa, pb) == brute
