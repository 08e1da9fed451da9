"""Config section for the engine stage."""

from __future__ import annotations

from inspector.config.base import Section


class EngineConfig(Section):
    """Placeholder until the engine stage defines its fields."""
