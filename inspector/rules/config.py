"""Config section for the rules stage: calibration, zones, named rules, PLC measurements.

Rules live in a mapping keyed by rule name, so a validation error names the rule
and the key (``rules.rules.joint_small.instance.area_mm2.lt``). Checks across
rules (unique codes, known zones, mm features only with a calibration) are made
here too, so ``inspector check`` catches them before anything runs.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, FiniteFloat, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from inspector.rules.calibration import UNCALIBRATED, PlaneScale
from inspector.rules.specs import AnySpec, HistorySpec, ZoneSpec, invalid, uses_mm
from inspector.section import Section

RuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
Point = Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)]


class CameraCalibration(Section):
    """One camera's pixel → mm mapping: a fixed scale or a homography (give exactly one)."""

    px_per_mm: FiniteFloat | None = Field(None, gt=0.0, le=10_000.0, description="Pixels per millimetre.")
    homography: list[list[FiniteFloat]] | None = Field(
        None, description="3x3 matrix mapping image px (x, y, 1) to plane mm, row-major."
    )

    @field_validator("homography")
    @classmethod
    def _square_and_invertible(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        if value is None:
            return None
        matrix = np.asarray(value, dtype=float)
        if matrix.shape != (3, 3):
            raise invalid(f"must be 3 rows of 3 numbers, got shape {matrix.shape}")
        if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-12:
            raise invalid("must be finite and invertible")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> CameraCalibration:
        if (self.px_per_mm is None) == (self.homography is None):
            raise invalid("give exactly one of px_per_mm, homography")
        return self

    def scale(self) -> PlaneScale:
        if self.homography is not None:
            return PlaneScale(homography=np.asarray(self.homography, dtype=float))
        return PlaneScale(px_per_mm=self.px_per_mm)


class Calibration(Section):
    """Pixel → mm calibration: a default scale and per-camera overrides by source id."""

    px_per_mm: FiniteFloat | None = Field(
        None, gt=0.0, le=10_000.0, description="Pixels per mm for cameras not listed under `cameras`."
    )
    cameras: dict[str, CameraCalibration] = Field(
        default_factory=dict, description="Per-camera calibration keyed by source id."
    )

    @property
    def configured(self) -> bool:
        return self.px_per_mm is not None or bool(self.cameras)

    def scale_for(self, source_id: str) -> PlaneScale:
        camera = self.cameras.get(source_id)
        if camera is not None:
            return camera.scale()
        return PlaneScale(px_per_mm=self.px_per_mm) if self.px_per_mm is not None else UNCALIBRATED


class Zone(Section):
    """A polygon in image pixels; an instance is inside when its centroid is (edges count as inside)."""

    polygon: list[Point] = Field(min_length=3, description="Vertices [[x, y], ...] in image pixels.")


class RulesConfig(Section):
    """Geometry features and inspection rules. Rules run in the order written."""

    calibration: Calibration = Field(default_factory=Calibration, description="Pixel → mm calibration.")
    zones: dict[RuleName, Zone] = Field(default_factory=dict, description="Named polygon zones.")
    rules: dict[RuleName, AnySpec] = Field(
        default_factory=dict, description="Named rules; `kind` picks instance/presence/count/…."
    )
    measurements: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Rule names whose measured value fills the PLC result block, in order "
        "(default: every rule, in order).",
    )
    crop_margin_px: int = Field(
        2, ge=0, le=64, description="Pixels added around each instance box before measuring its mask."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RulesConfig:
        problems = self.cross_rule_problems()
        if problems:
            lines = "".join(f"\n    {line}" for line in problems)
            detail = f"{len(problems)} problem(s) across rules:{lines}"
            raise PydanticCustomError("rules_inconsistent", "{detail}", {"detail": detail})
        return self

    def cross_rule_problems(self) -> list[str]:
        """What is wrong across rules, each as 'rules.rules.<rule>.<key>: reason'."""
        problems = []
        seen_codes: dict[int, str] = {}
        for name, spec in self.rules.items():
            if spec.code in seen_codes:
                problems.append(
                    f"rules.rules.{name}.code: {spec.code} is already used by rule {seen_codes[spec.code]!r}"
                )
            seen_codes.setdefault(spec.code, name)
            known = ", ".join(self.zones) or "none defined"
            if isinstance(spec, ZoneSpec) and spec.zone not in self.zones:
                problems.append(f"rules.rules.{name}.zone: no zone {spec.zone!r} (zones: {known})")
            for key in ("in_zone", "roi"):
                zone = getattr(spec, key, None)
                if zone is not None and zone not in self.zones:
                    problems.append(f"rules.rules.{name}.{key}: no zone {zone!r} (zones: {known})")
            mm_key = uses_mm(spec)
            if mm_key and not self.calibration.configured:
                problems.append(
                    f"rules.rules.{name}.{mm_key}: needs rules.calibration (px_per_mm or cameras)"
                )
        for index, name in enumerate(self.measurements):
            if name not in self.rules:
                problems.append(f"rules.measurements.{index}: no rule named {name!r}")
        return problems

    def part_rules(self) -> dict[str, AnySpec]:
        return {n: s for n, s in self.rules.items() if not isinstance(s, HistorySpec)}

    def history_rules(self) -> dict[str, HistorySpec]:
        return {n: s for n, s in self.rules.items() if isinstance(s, HistorySpec)}
