"""Config section for the plc stage."""

from __future__ import annotations

from inspector.config.base import Section


class PlcConfig(Section):
    """Placeholder until the plc stage defines its fields."""
