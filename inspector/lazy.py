"""Lazy package exports (PEP 562).

A stage package re-exports its public names, but importing the package must stay
cheap: ``inspector.config.settings`` imports every stage's ``config`` module, and
that executes the package's ``__init__``. An eager import there would pull torch
and OpenCV into ``inspector check``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``where[name]`` on first use of ``name``."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
