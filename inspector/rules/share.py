"""The ``area_share`` rule kind: the share of a region's pixels that some classes' masks cover.

A semantic model (SegFormer) reports a defect class as regions rather than countable instances;
a line judges it by how much of the part it covers. The region is a zone (a fixed polygon),
the union of other classes' masks (the part itself, a DETR stuff region), or the whole frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.rules.base import RuleBase, RuleOutcome, compile_condition, first_hit
from inspector.rules.part import PartView
from inspector.rules.specs import AreaShareSpec


def union(part: PartView, indices: np.ndarray) -> np.ndarray:
    """The masks of ``indices`` or-ed together, (H, W) bool on the host."""
    height, width = part.detections.image_shape
    out = np.zeros((height, width), dtype=bool)
    if len(indices):
        masks = part.detections.masks[np.asarray(indices, dtype=np.int64)]
        out |= masks.any(dim=0).cpu().numpy()
    return out


@dataclass
class AreaShareRule(RuleBase):
    spec: AreaShareSpec
    polygon: np.ndarray | None  # (K, 1, 2) float32 zone, when the region is a zone

    def region(self, part: PartView) -> np.ndarray | None:
        """The region as a bool mask; None for the whole frame."""
        height, width = part.detections.image_shape
        if self.polygon is not None:
            canvas = np.zeros((height, width), dtype=np.uint8)
            cv2.fillPoly(canvas, [np.round(self.polygon).astype(np.int32)], 1)
            return canvas.astype(bool)
        if self.spec.roi_classes:
            return union(part, part.select(frozenset(self.spec.roi_classes), self.spec.min_score))
        return None

    def __call__(self, part: PartView) -> RuleOutcome:
        spec = self.spec
        covered = union(part, part.select(frozenset(spec.classes), spec.min_score))
        region = self.region(part)
        total = covered.size if region is None else int(np.count_nonzero(region))
        inside = int(np.count_nonzero(covered if region is None else covered & region))
        share = 100.0 * inside / total if total else math.nan  # no region found: not measurable
        hit = first_hit(compile_condition(spec.share_pct), share)
        if hit is None:
            return RuleOutcome(share)
        where = spec.roi or ("+".join(spec.roi_classes) if spec.roi_classes else "frame")
        label = f"{'+'.join(spec.classes)} share of {where} in %"
        return RuleOutcome(share, (self.reason(label, share, hit),))
