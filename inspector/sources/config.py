"""Config section for the sources stage."""

from __future__ import annotations

from inspector.config.base import Section


class SourceConfig(Section):
    """Placeholder until the sources stage defines its fields."""
