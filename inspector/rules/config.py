"""Config section for the rules stage."""

from __future__ import annotations

from inspector.config.base import Section


class RulesConfig(Section):
    """Placeholder until the rules stage defines its fields."""
