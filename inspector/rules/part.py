"""One part's detections seen by the rules: lazy, cached per-instance features.

Nothing is measured until a rule asks, and then only for the instances that rule
selects (class and score): areas of all instances in one reduction on the engine
device when that is a GPU, everything else on a small host crop of the instance's
box (plus a margin), contours traced at most once per instance.

Masks are assumed to lie inside their boxes (the engine crops masks to boxes,
as YOLOv8-seg does); pixels outside box + margin are not measured on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from inspector.messages import Detections, VerdictCode
from inspector.rules.calibration import PlaneScale
from inspector.rules.features import Feature
from inspector.rules.geometry import Shape


@dataclass
class PartView:
    """Features of one frame's instances, computed on demand and cached."""

    detections: Detections
    source_id: str
    scale: PlaneScale
    crop_margin: int = 2
    interim: VerdictCode | None = None  # the part rules' verdict, set before history rules run
    zones: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (K, 1, 2) float32 polygon
    scores: np.ndarray = field(init=False)
    class_ids: np.ndarray = field(init=False)
    boxes: np.ndarray = field(init=False)
    windows: np.ndarray = field(init=False)  # (N, 4) int crop windows x0, y0, x1, y1 (exclusive)
    _host_masks: np.ndarray | None = field(init=False, default=None)
    _cache: dict[tuple[str, int], object] = field(init=False, default_factory=dict)
    _selections: dict[tuple[frozenset[str], float, str | None], np.ndarray] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        det = self.detections
        self.scores = det.scores.detach().to("cpu", torch.float32).numpy().reshape(-1)
        self.class_ids = det.class_ids.detach().to("cpu", torch.int64).numpy().reshape(-1)
        self.boxes = det.boxes.detach().to("cpu", torch.float32).numpy().reshape(-1, 4)
        if not (len(self.scores) == len(self.class_ids) == len(self.boxes) == det.masks.shape[0]):
            raise ValueError(
                f"detections disagree on the instance count: boxes {len(self.boxes)}, "
                f"scores {len(self.scores)}, class_ids {len(self.class_ids)}, masks {det.masks.shape[0]}"
            )
        height, width = det.image_shape
        self.windows = crop_windows(self.boxes, self.crop_margin, width, height)
        if det.masks.device.type == "cpu":
            self._host_masks = det.masks.numpy()  # a view, no copy

    def __len__(self) -> int:
        return len(self.scores)

    def class_name(self, index: int) -> str:
        cid = int(self.class_ids[index])
        names = self.detections.names
        return names[cid] if 0 <= cid < len(names) else str(cid)

    def select(self, classes: frozenset[str], min_score: float, in_zone: str | None = None) -> np.ndarray:
        """Indices of the instances of ``classes`` scoring at least ``min_score`` (and, given
        ``in_zone``, whose centroid lies inside that zone)."""
        key = (classes, min_score, in_zone)
        cached = self._selections.get(key)
        if cached is None:
            names = self.detections.names
            missing = sorted(c for c in classes if c not in names)
            if missing:
                raise ValueError(f"the model has no class {missing[0]!r}")
            ids = [names.index(c) for c in classes]
            cached = np.flatnonzero(np.isin(self.class_ids, ids) & (self.scores >= min_score))
            if in_zone is not None:
                inside = [self.inside(int(i), in_zone) for i in cached]
                cached = cached[np.asarray(inside, dtype=bool)]
            self._selections[key] = cached
        return cached

    def inside(self, index: int, zone: str) -> bool:
        """Whether the instance's centroid lies in the zone (edges count as inside)."""
        return bool(cv2.pointPolygonTest(self.zones[zone], self.centroid(index), False) >= 0)

    def feature(self, index: int, feature: Feature) -> float:
        """The value of one feature of instance ``index``."""
        return FEATURE_GETTERS[feature](self, index)

    def area_px(self, index: int) -> float:
        key = ("area", index)
        if key not in self._cache:
            masks = self.detections.masks
            if self._host_masks is None:
                # One reduction over every instance on the device beats N crops copied to the host.
                sums = masks.sum(dim=(1, 2)).cpu().numpy()
                self._cache.update({("area", i): float(v) for i, v in enumerate(sums)})
            else:
                self._cache[key] = float(cv2.countNonZero(self.crop(index)[0]))
        return self._cache[key]  # type: ignore[return-value]

    def centroid(self, index: int) -> tuple[float, float]:
        """Centre of mass of the mask pixels, image px (0 at the first pixel's centre)."""
        key = ("centroid", index)
        if key not in self._cache:
            crop, (x0, y0) = self.crop(index)
            m = cv2.moments(crop, binaryImage=True)
            if m["m00"] > 0:
                self._cache[key] = (m["m10"] / m["m00"] + x0, m["m01"] / m["m00"] + y0)
            else:
                box = self.boxes[index]
                self._cache[key] = (float(box[0] + box[2]) / 2.0, float(box[1] + box[3]) / 2.0)
        return self._cache[key]  # type: ignore[return-value]

    def shape(self, index: int) -> Shape:
        key = ("shape", index)
        if key not in self._cache:
            self._cache[key] = Shape(*self.crop(index))
        return self._cache[key]  # type: ignore[return-value]

    def bbox(self, index: int) -> tuple[int, int]:
        """Width and height of the mask's own axis-aligned box, whole pixels."""
        key = ("bbox", index)
        if key not in self._cache:
            _, _, w, h = cv2.boundingRect(self.crop(index)[0])
            self._cache[key] = (w, h)
        return self._cache[key]  # type: ignore[return-value]

    def crop(self, index: int) -> tuple[np.ndarray, tuple[int, int]]:
        """The instance's mask inside its crop window, uint8 0/1 on the host, and its (x, y) origin."""
        key = ("crop", index)
        if key not in self._cache:
            x0, y0, x1, y1 = (int(v) for v in self.windows[index])
            if self._host_masks is not None:
                host = self._host_masks[index, y0:y1, x0:x1]
            else:
                host = self.detections.masks[index, y0:y1, x0:x1].cpu().numpy()
            if host.dtype != np.bool_:
                host = host > 0  # tolerate 0/1 masks in another dtype
            self._cache[key] = (np.ascontiguousarray(host).view(np.uint8), (x0, y0))
        return self._cache[key]  # type: ignore[return-value]

    def overlaps(self, a: int, b: int) -> bool:
        """Whether the two masks share a pixel (inside their crop windows)."""
        crop_a, (ax, ay) = self.crop(a)
        crop_b, (bx, by) = self.crop(b)
        x0, y0 = max(ax, bx), max(ay, by)
        x1 = min(ax + crop_a.shape[1], bx + crop_b.shape[1])
        y1 = min(ay + crop_a.shape[0], by + crop_b.shape[0])
        if x0 >= x1 or y0 >= y1:
            return False
        both = crop_a[y0 - ay : y1 - ay, x0 - ax : x1 - ax] & crop_b[y0 - by : y1 - by, x0 - bx : x1 - bx]
        return bool(both.any())

    def measured(self) -> frozenset[str]:
        """What has been computed so far ('area', 'crop', 'centroid', 'bbox', 'shape', 'contours'),
        for tests and benchmarks of the lazy evaluation."""
        kinds = {kind for kind, _ in self._cache}
        shapes = [v for (kind, _), v in self._cache.items() if kind == "shape"]
        if any(shape.traced for shape in shapes if isinstance(shape, Shape)):
            kinds.add("contours")
        return frozenset(kinds)

    def local_length_factor(self, index: int) -> float:
        """mm per px at the instance (its centroid under a homography)."""
        if self.scale.is_uniform:
            return self.scale.length_factor()
        return self.scale.length_factor(*self.centroid(index))

    def local_area_factor(self, index: int) -> float:
        """mm² per px² at the instance."""
        if self.scale.is_uniform:
            return self.scale.area_factor()
        return self.scale.area_factor(*self.centroid(index))


def crop_windows(boxes: np.ndarray, margin: int, width: int, height: int) -> np.ndarray:
    """Integer windows [x0, x1) x [y0, y1) covering each box plus ``margin``, clipped to the image.

    A box that is not finite gets the whole image: measuring slowly beats measuring wrong.
    """
    finite = np.isfinite(boxes).all(axis=1)
    safe = np.where(finite[:, None], boxes, 0.0)
    x0 = np.clip(np.floor(safe[:, 0]) - margin, 0, width)
    y0 = np.clip(np.floor(safe[:, 1]) - margin, 0, height)
    x1 = np.clip(np.ceil(safe[:, 2]) + 1 + margin, x0, width)
    y1 = np.clip(np.ceil(safe[:, 3]) + 1 + margin, y0, height)
    windows = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    windows[~finite] = (0, 0, width, height)
    return windows.reshape(-1, 4)


def _equivalent_diameter(part: PartView, index: int) -> float:
    return math.sqrt(4.0 * part.area_px(index) / math.pi)


def _mm(part: PartView, index: int, px: float) -> float:
    return px * part.local_length_factor(index)


FEATURE_GETTERS: dict[Feature, Callable[[PartView, int], float]] = {
    Feature.AREA_PX: PartView.area_px,
    Feature.AREA_MM2: lambda p, i: p.area_px(i) * p.local_area_factor(i),
    Feature.PERIMETER_PX: lambda p, i: p.shape(i).perimeter,
    Feature.PERIMETER_MM: lambda p, i: _mm(p, i, p.shape(i).perimeter),
    Feature.CIRCULARITY: lambda p, i: p.shape(i).circularity,
    Feature.BBOX_W_PX: lambda p, i: float(p.bbox(i)[0]),
    Feature.BBOX_H_PX: lambda p, i: float(p.bbox(i)[1]),
    Feature.BBOX_W_MM: lambda p, i: _mm(p, i, p.bbox(i)[0]),
    Feature.BBOX_H_MM: lambda p, i: _mm(p, i, p.bbox(i)[1]),
    Feature.RECT_W_PX: lambda p, i: p.shape(i).rect_w,
    Feature.RECT_H_PX: lambda p, i: p.shape(i).rect_h,
    Feature.RECT_W_MM: lambda p, i: _mm(p, i, p.shape(i).rect_w),
    Feature.RECT_H_MM: lambda p, i: _mm(p, i, p.shape(i).rect_h),
    Feature.RECT_ANGLE_DEG: lambda p, i: p.shape(i).rect_angle,
    Feature.ASPECT_RATIO: lambda p, i: p.shape(i).aspect_ratio,
    Feature.CENTROID_X_PX: lambda p, i: p.centroid(i)[0],
    Feature.CENTROID_Y_PX: lambda p, i: p.centroid(i)[1],
    Feature.CENTROID_X_MM: lambda p, i: p.scale.to_mm(*p.centroid(i))[0],
    Feature.CENTROID_Y_MM: lambda p, i: p.scale.to_mm(*p.centroid(i))[1],
    Feature.SOLIDITY: lambda p, i: p.shape(i).solidity,
    Feature.HOLES: lambda p, i: float(p.shape(i).holes),
    Feature.EQUIVALENT_DIAMETER_PX: _equivalent_diameter,
    Feature.EQUIVALENT_DIAMETER_MM: lambda p, i: _mm(p, i, _equivalent_diameter(p, i)),
    Feature.SCORE: lambda p, i: float(p.scores[i]),
}
