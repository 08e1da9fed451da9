"""Base class for every config section: unknown keys refused, numbers finite, values frozen."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def _is_number(annotation: Any) -> bool:
    """An int or float key (optional or not); not a bool one."""
    args = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else ()
    )
    kinds = [arg for arg in args if arg is not type(None)] or [annotation]
    return bool(kinds) and all(kind in (int, float) for kind in kinds)


class _NotANumber:
    def __repr__(self) -> str:
        return "a boolean"


NOT_A_NUMBER = _NotANumber()


class Section(BaseModel):
    """A config section. Every field must carry a type, bounds where they apply, and a description."""

    # allow_inf_nan off: `.nan` would otherwise fail a bound with a misleading message ("should be
    # less than or equal to 1") or, where a field has no upper bound, pass as an infinite value.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        # pydantic reads true as 1: `port: true` would be port 1, `conf: true` a 100 % threshold.
        # A bool given for a number key is swapped for a value no number validator accepts, so the
        # error still names the key ("Input should be a valid integer").
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {
            key: NOT_A_NUMBER
            if isinstance(value, bool) and key in fields and _is_number(fields[key].annotation)
            else value
            for key, value in data.items()
        }
