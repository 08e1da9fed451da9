"""Base class for every config section: unknown keys refused, numbers finite, values frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Every field must carry a type, bounds where they apply, and a description."""

    # allow_inf_nan off: `.nan` would otherwise fail a bound with a misleading message ("should be
    # less than or equal to 1") or, where a field has no upper bound, pass as an infinite value.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
