"""Base class for every config section: unknown keys refused, values frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Every field must carry a type, bounds where they apply, and a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)
