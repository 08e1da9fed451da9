"""Options every source kind has (its own module so that a kind's config, in a subpackage, can
build on it while ``inspector.sources.config`` gathers every kind)."""

from __future__ import annotations

from pydantic import Field, model_validator

from inspector.section import Section


class SourceCommon(Section):
    """Options every source has."""

    id: str = Field(
        "cam0", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Source id in logs."
    )
    fps_limit: float | None = Field(
        None, gt=0.0, le=1000.0, description="Most frames per second taken from the source; none = no limit."
    )
    reconnect_initial_s: float = Field(
        0.5, gt=0.0, le=60.0, description="First wait before reopening a source whose read failed."
    )
    reconnect_max_s: float = Field(
        5.0, gt=0.0, le=600.0, description="Cap of the exponential reconnect backoff (doubles per try)."
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> SourceCommon:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        return self
