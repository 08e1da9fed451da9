"""Preprocessing: a configured chain of small image callables."""

from __future__ import annotations

from inspector.preprocess.steps import Chain, Step, build_step

__all__ = ["Chain", "Step", "build_step"]
