"""Config of the preprocessing chain."""

from __future__ import annotations

from inspector.config.base import Section


class PreprocessStep(Section):
    """Placeholder until the preprocess stage defines its steps."""
