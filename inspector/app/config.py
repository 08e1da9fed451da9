"""Config section for the app stage."""

from __future__ import annotations

from inspector.config.base import Section


class RuntimeConfig(Section):
    """Placeholder until the app stage defines its fields."""
