"""Preprocessing: a configured chain of small image callables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.preprocess.steps import Chain, Step, build_step

_EXPORTS = {
    "Chain": "inspector.preprocess.steps",
    "Step": "inspector.preprocess.steps",
    "build_step": "inspector.preprocess.steps",
}

__all__ = ["Chain", "Step", "build_step"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
