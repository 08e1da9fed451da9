"""Config of the preprocessing chain: a list of steps, each told apart by ``step``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from inspector.section import Section


class RoiStep(Section):
    """Crop a fixed region of interest (pixels of the incoming frame)."""

    step: Literal["roi"] = Field(description="Region-of-interest crop.")
    x: int = Field(0, ge=0, le=16384, description="Left edge.")
    y: int = Field(0, ge=0, le=16384, description="Top edge.")
    width: int = Field(ge=1, le=16384, description="Width; clipped at the frame's right edge.")
    height: int = Field(ge=1, le=16384, description="Height; clipped at the frame's bottom edge.")


class ResizeStep(Section):
    """Resize to a fixed size."""

    step: Literal["resize"] = Field(description="Resize.")
    width: int = Field(ge=8, le=16384, description="Output width in pixels.")
    height: int = Field(ge=8, le=16384, description="Output height in pixels.")
    interpolation: Literal["nearest", "linear", "area", "cubic"] = Field(
        "area", description="OpenCV interpolation (area is best for shrinking)."
    )


class DenoiseStep(Section):
    """Fast denoising."""

    step: Literal["denoise"] = Field(description="Denoise filter.")
    method: Literal["gaussian", "median", "bilateral"] = Field("gaussian", description="Filter kind.")
    ksize: int = Field(3, ge=1, le=31, description="Kernel size (odd); bilateral: pixel neighbourhood.")
    sigma: float = Field(
        0.0, ge=0.0, le=200.0, description="Gaussian sigma (0 = from ksize); bilateral colour/space sigma."
    )

    @model_validator(mode="after")
    def _odd_kernel(self) -> DenoiseStep:
        if self.ksize % 2 == 0:
            raise ValueError("ksize must be odd")
        return self


class WhiteBalanceStep(Section):
    """Per-channel gains (white balance)."""

    step: Literal["white_balance"] = Field(description="White-balance gains.")
    gains: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="Gains for the blue, green and red channels (each 0..8)."
    )

    @model_validator(mode="after")
    def _gain_bounds(self) -> WhiteBalanceStep:
        if not all(0.0 <= g <= 8.0 for g in self.gains):
            raise ValueError("each gain must be between 0 and 8")
        return self


class GammaStep(Section):
    """Gamma correction: out = 255 * (in / 255) ** (1 / gamma)."""

    step: Literal["gamma"] = Field(description="Gamma correction.")
    gamma: float = Field(1.0, gt=0.05, le=10.0, description="Gamma; > 1 brightens the mid-tones.")


class ClaheStep(Section):
    """Contrast-limited adaptive histogram equalisation on the lightness channel."""

    step: Literal["clahe"] = Field(description="CLAHE on lightness (LAB L channel).")
    clip_limit: float = Field(2.0, gt=0.0, le=40.0, description="Contrast limit.")
    tiles: int = Field(8, ge=1, le=64, description="Tiles per side of the grid.")


PreprocessStep = Annotated[
    RoiStep | ResizeStep | DenoiseStep | WhiteBalanceStep | GammaStep | ClaheStep,
    Field(discriminator="step"),
]
"""One step of the chain; ``step`` picks which."""
