"""Features of masks with known geometry: exact where pixels make it exact, else within
the tolerance stated next to each check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inspector.rules.calibration import PlaneScale
from inspector.rules.features import Feature as F
from inspector.rules.part import PartView
from tests.support.masks import bar, detections, disk, rectangle, ring

SHAPE = (240, 320)


def view(mask: np.ndarray, scale: PlaneScale | None = None) -> PartView:
    return PartView(detections([mask]), "cam0", scale or PlaneScale(px_per_mm=10.0))


def features(mask: np.ndarray, scale: PlaneScale | None = None) -> dict[F, float]:
    part = view(mask, scale)
    return {f: part.feature(0, f) for f in F}


@pytest.mark.parametrize("radius", [20, 50, 100])
def test_disk(radius: int) -> None:
    mask = disk((260, 260), (130, 130), radius)
    got = features(mask)
    assert got[F.AREA_PX] == mask.sum()  # exact: pixel count
    assert got[F.AREA_PX] == pytest.approx(math.pi * radius**2, rel=0.01)
    assert got[F.PERIMETER_PX] == pytest.approx(2 * math.pi * radius, rel=0.03)
    assert 0.96 <= got[F.CIRCULARITY] <= 1.0  # digital disks, radius >= 20 px
    assert got[F.CENTROID_X_PX] == pytest.approx(130.0, abs=1e-9)
    assert got[F.CENTROID_Y_PX] == pytest.approx(130.0, abs=1e-9)
    assert got[F.BBOX_W_PX] == got[F.BBOX_H_PX] == 2 * radius + 1
    assert got[F.RECT_W_PX] == pytest.approx(2 * radius + 1, abs=1.5)  # any orientation fits a disk
    assert got[F.ASPECT_RATIO] == pytest.approx(1.0, abs=0.02)
    assert got[F.SOLIDITY] >= 0.99
    assert got[F.HOLES] == 0
    assert got[F.EQUIVALENT_DIAMETER_PX] == pytest.approx(2 * radius, rel=0.01)
    assert got[F.AREA_MM2] == pytest.approx(got[F.AREA_PX] / 100.0)  # 10 px/mm
    assert got[F.EQUIVALENT_DIAMETER_MM] == pytest.approx(got[F.EQUIVALENT_DIAMETER_PX] / 10.0)


def test_rectangle_is_exact() -> None:
    got = features(rectangle(SHAPE, x=20, y=10, w=50, h=20))
    assert got[F.AREA_PX] == 1000
    assert (got[F.BBOX_W_PX], got[F.BBOX_H_PX]) == (50, 20)
    assert (got[F.RECT_W_PX], got[F.RECT_H_PX]) == pytest.approx((50.0, 20.0), abs=1e-4)
    assert got[F.RECT_ANGLE_DEG] == pytest.approx(0.0, abs=1e-4)
    assert got[F.ASPECT_RATIO] == pytest.approx(2.5, abs=1e-4)
    # Boundary through pixel centres: a 50 x 20 block has a 49 x 19 boundary polygon.
    assert got[F.PERIMETER_PX] == pytest.approx(2 * 49 + 2 * 19)
    assert got[F.CIRCULARITY] == pytest.approx(4 * math.pi * 49 * 19 / 136**2)
    assert got[F.CENTROID_X_PX] == pytest.approx(44.5)
    assert got[F.CENTROID_Y_PX] == pytest.approx(19.5)
    assert got[F.SOLIDITY] == 1.0
    assert got[F.HOLES] == 0
    assert (got[F.BBOX_W_MM], got[F.RECT_H_MM]) == pytest.approx((5.0, 2.0), abs=1e-5)
    assert (got[F.CENTROID_X_MM], got[F.CENTROID_Y_MM]) == pytest.approx((4.45, 1.95))


def test_square_circularity_is_pi_over_4() -> None:
    assert features(rectangle(SHAPE, 40, 40, 31, 31))[F.CIRCULARITY] == pytest.approx(math.pi / 4)


def test_ring_with_a_hole() -> None:
    outer, inner = 60, 30
    got = features(ring((260, 260), (130, 130), outer, inner))
    assert got[F.HOLES] == 1
    assert got[F.AREA_PX] == pytest.approx(math.pi * (outer**2 - inner**2), rel=0.02)
    assert got[F.SOLIDITY] == pytest.approx(1 - (inner / outer) ** 2, abs=0.02)
    assert got[F.CENTROID_X_PX] == pytest.approx(130.0, abs=1e-9)
    # Perimeter counts the outer boundary only.
    assert got[F.PERIMETER_PX] == pytest.approx(2 * math.pi * outer, rel=0.03)


def test_two_holes_counted() -> None:
    mask = rectangle(SHAPE, 10, 10, 100, 40)
    mask[20:30, 20:30] = False
    mask[20:30, 60:70] = False
    assert features(mask)[F.HOLES] == 2


@pytest.mark.parametrize("angle", [15.0, 30.0, 45.0, 60.0, 120.0, 150.0])
def test_rotated_bar(angle: float) -> None:
    # fillPoly draws both edges, so a 120 x 20 box covers about 121 x 21 pixels.
    got = features(bar((300, 300), (150.0, 150.0), (120.0, 20.0), angle))
    assert got[F.RECT_ANGLE_DEG] == pytest.approx(angle, abs=0.5)
    assert got[F.RECT_W_PX] == pytest.approx(121.0, abs=2.0)
    assert got[F.RECT_H_PX] == pytest.approx(21.0, abs=2.0)
    assert got[F.ASPECT_RATIO] == pytest.approx(121.0 / 21.0, rel=0.1)
    assert got[F.SOLIDITY] >= 0.98
    assert got[F.CENTROID_X_PX] == pytest.approx(150.0, abs=0.5)
    assert got[F.HOLES] == 0


def test_homography_scale_matches_px_per_mm() -> None:
    mask = disk(SHAPE, (100, 100), 30)
    plain = features(mask, PlaneScale(px_per_mm=8.0))
    homography = np.diag([1 / 8.0, 1 / 8.0, 1.0])
    mapped = features(mask, PlaneScale(homography=homography))
    for f in (F.AREA_MM2, F.PERIMETER_MM, F.RECT_W_MM, F.CENTROID_X_MM, F.EQUIVALENT_DIAMETER_MM):
        assert mapped[f] == pytest.approx(plain[f], rel=1e-9)


def test_homography_area_uses_local_scale() -> None:
    """Under perspective the area is the local |det J| times the pixel area: within 1 %
    of the area of the mask's boundary mapped onto the plane."""
    import cv2

    h = np.array([[0.1, 0.01, 2.0], [0.005, 0.12, -1.0], [2e-4, 1e-4, 1.0]])
    mask = disk(SHAPE, (200, 120), 25)
    got = features(mask, PlaneScale(homography=h))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    mapped = cv2.perspectiveTransform(contours[0].astype(np.float64), h)
    px_ratio = mask.sum() / cv2.contourArea(contours[0].astype(np.float32))
    assert got[F.AREA_MM2] == pytest.approx(cv2.contourArea(mapped.astype(np.float32)) * px_ratio, rel=0.01)


def test_mm_without_calibration_raises() -> None:
    with pytest.raises(ValueError, match="no mm calibration"):
        view(disk(SHAPE, (50, 50), 10), PlaneScale()).feature(0, F.AREA_MM2)


def test_crop_does_not_change_features() -> None:
    """Measuring on the box crop gives what measuring the whole frame gives."""
    from inspector.rules.geometry import Shape

    mask = ring(SHAPE, (160, 120), 40, 12)
    whole = Shape(np.ascontiguousarray(mask.view(np.uint8)), (0, 0))
    part = view(mask)
    cropped = part.shape(0)
    assert (cropped.perimeter, cropped.polygon_area, cropped.holes) == (
        whole.perimeter,
        whole.polygon_area,
        whole.holes,
    )
    assert part.area_px(0) == mask.sum()


def test_empty_mask_measures_zero() -> None:
    part = PartView(detections([np.zeros(SHAPE, bool)]), "cam0", PlaneScale(px_per_mm=1.0))
    assert part.feature(0, F.AREA_PX) == 0.0
    assert part.feature(0, F.PERIMETER_PX) == 0.0
    assert part.feature(0, F.HOLES) == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_features_on_cuda_match_cpu() -> None:
    masks = [disk(SHAPE, (60, 60), 20), ring(SHAPE, (200, 120), 40, 10)]
    cpu = PartView(detections(masks), "cam0", PlaneScale(px_per_mm=4.0))
    det = detections(masks)
    gpu_det = type(det)(
        boxes=det.boxes.cuda(),
        scores=det.scores.cuda(),
        class_ids=det.class_ids.cuda(),
        masks=det.masks.cuda(),
        names=det.names,
    )
    gpu = PartView(gpu_det, "cam0", PlaneScale(px_per_mm=4.0))
    for i in range(2):
        for f in F:
            assert gpu.feature(i, f) == pytest.approx(cpu.feature(i, f))
