"""Config section for the operator's web page (served on ``health.http``'s port)."""

from __future__ import annotations

from pydantic import Field

from inspector.section import Section


class WebConfig(Section):
    """The live page: frames, reject gallery, setup view and counters, read-only."""

    enabled: bool = Field(
        True, description="Serve the operator page at / on the health.http port (needs health.http: true)."
    )
    stream_fps: float = Field(
        4.0, gt=0, le=30, description="Most frames per second per camera encoded for viewers (JPEG)."
    )
    jpeg_quality: int = Field(80, ge=20, le=100, description="JPEG quality of the streamed pictures.")
    max_width: int = Field(
        1280, ge=160, le=8192, description="Pictures wider than this are scaled down before encoding."
    )
    gallery_size: int = Field(
        24, ge=1, le=500, description="Non-PASS parts the gallery shows (the newest; kept in memory "
        "when the archive is off, so this bounds that memory)."
    )  # fmt: skip
    max_viewers: int = Field(
        8, ge=1, le=64, description="Live streams served at once; more are refused with 503."
    )
