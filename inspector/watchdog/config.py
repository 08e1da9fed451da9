"""Config section for the watchdog stage."""

from __future__ import annotations

from inspector.config.base import Section


class WatchdogConfig(Section):
    """Placeholder until the watchdog stage defines its fields."""
