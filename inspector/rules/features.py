"""Names of the per-instance features a rule can reference, and what each needs measured."""

from __future__ import annotations

from enum import Enum


class Feature(str, Enum):
    """A per-instance measurement. Values double as the config keys of instance rules.

    Conventions: coordinates are image pixels with the origin at the top-left pixel's
    centre; lengths from contours run through boundary pixel centres (``perimeter``),
    rectangle and box sizes count whole pixels (a 10-pixel-wide bar is 10 px wide).
    """

    AREA_PX = "area_px"
    AREA_MM2 = "area_mm2"
    PERIMETER_PX = "perimeter_px"
    PERIMETER_MM = "perimeter_mm"
    CIRCULARITY = "circularity"
    BBOX_W_PX = "bbox_w_px"
    BBOX_H_PX = "bbox_h_px"
    BBOX_W_MM = "bbox_w_mm"
    BBOX_H_MM = "bbox_h_mm"
    RECT_W_PX = "rect_w_px"
    RECT_H_PX = "rect_h_px"
    RECT_W_MM = "rect_w_mm"
    RECT_H_MM = "rect_h_mm"
    RECT_ANGLE_DEG = "rect_angle_deg"
    ASPECT_RATIO = "aspect_ratio"
    CENTROID_X_PX = "centroid_x_px"
    CENTROID_Y_PX = "centroid_y_px"
    CENTROID_X_MM = "centroid_x_mm"
    CENTROID_Y_MM = "centroid_y_mm"
    SOLIDITY = "solidity"
    HOLES = "holes"
    EQUIVALENT_DIAMETER_PX = "equivalent_diameter_px"
    EQUIVALENT_DIAMETER_MM = "equivalent_diameter_mm"
    SCORE = "score"
