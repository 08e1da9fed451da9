"""Config section for the health stage."""

from __future__ import annotations

from inspector.config.base import Section


class HealthConfig(Section):
    """Placeholder until the health stage defines its fields."""
