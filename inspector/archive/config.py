"""Config section for the reject archive."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from inspector.section import Section


class ArchiveConfig(Section):
    """Images, mask overlays and measurements of rejected or alarmed parts, within a disk quota."""

    enabled: bool = Field(False, description="Archive rejected/alarmed parts.")
    dir: Path = Field(
        Path("/var/lib/inspector/archive"), description="Directory of the archive (created if absent)."
    )
    quota_mib: int = Field(
        2048, ge=1, le=16_777_216, description="Disk space the archive may use; oldest records go first."
    )
    min_free_mib: int = Field(
        512, ge=0, le=1_073_741_824, description="Stop archiving (count drops) while the disk has less free."
    )
    queue_size: int = Field(
        16, ge=1, le=10_000, description="Records waiting to be written; when full, new ones are dropped."
    )
    include_alarm: bool = Field(True, description="Archive ALARM verdicts as well as REJECT.")
    include_failsafe: bool = Field(True, description="Archive fail-safe verdicts (no real inspection).")
    overlay_alpha: float = Field(0.45, ge=0, le=1, description="Opacity of masks in the overlay PNG.")
    png_compression: int = Field(
        1,
        ge=0,
        le=9,
        description="PNG compression level (0 fastest, 9 smallest); low keeps the writer quick.",
    )
