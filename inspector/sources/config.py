"""Config of the frame sources: one entry per camera, told apart by ``kind``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from inspector.sources.common import SourceCommon
from inspector.sources.genicam.config import GenicamSourceConfig


class CameraSourceConfig(SourceCommon):
    """An OpenCV VideoCapture: device index, video file, or RTSP/HTTP URL."""

    kind: Literal["camera"] = Field(description="OpenCV VideoCapture source.")
    uri: str = Field(
        min_length=1,
        description="Device index ('0'), a video file path, or a stream URL (rtsp://, http://).",
    )
    width: int | None = Field(None, ge=16, le=16384, description="Frame width to request from a device.")
    height: int | None = Field(None, ge=16, le=16384, description="Frame height to request from a device.")
    open_timeout_s: float = Field(
        5.0, gt=0.0, le=120.0, description="Timeout to open a stream URL (FFmpeg backend)."
    )
    read_timeout_s: float = Field(
        5.0,
        gt=0.0,
        le=120.0,
        description="Timeout of one read from a stream URL (FFmpeg backend); with grab: latest, also the "
        "longest wait for a fresh frame.",
    )
    loop: bool = Field(False, description="Restart a video file at its end instead of ending the stream.")
    grab: Literal["auto", "latest", "sequential"] = Field(
        "auto",
        description="latest: a thread drains the camera and each capture gets the newest frame (after a "
        "PLC trigger: one that arrived after it), never a stale buffered one; sequential: every frame "
        "in order; auto: latest for devices and stream URLs, sequential for video files.",
    )


class FolderSourceConfig(SourceCommon):
    """Image files from a folder, in sorted name order."""

    kind: Literal["folder"] = Field(description="Image folder source.")
    path: Path = Field(description="Folder holding the images.")
    extensions: tuple[str, ...] = Field(
        (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"),
        min_length=1,
        description="File name endings taken as images (case-insensitive).",
    )
    loop: bool = Field(False, description="Start again from the first image after the last.")
    max_pixels: int = Field(
        50_000_000,
        ge=1024,
        le=2**30,
        description="Largest image (width x height) inspected; a larger one is failed safe as a bad image "
        "(909): masks are kept at full resolution and would not fit in memory.",
    )


class SyntheticSourceConfig(SourceCommon):
    """Procedurally generated frames (the demo PCB boards, or simple shapes)."""

    kind: Literal["synthetic"] = Field(description="Synthetic source.")
    scene: Literal["pcb", "shapes"] = Field(
        "pcb", description="pcb: the synthetic solder-joint boards (inspector.synth); shapes: plain shapes."
    )
    width: int = Field(640, ge=32, le=8192, description="Frame width in pixels.")
    height: int = Field(480, ge=32, le=8192, description="Frame height in pixels.")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Random seed (0..2^32-1); the same seed gives the same frames."
    )
    count: int | None = Field(
        None, ge=1, le=10**9, description="Frames to produce before ending (at most 1e9); none = endless."
    )


SourceConfig = Annotated[
    CameraSourceConfig | FolderSourceConfig | SyntheticSourceConfig | GenicamSourceConfig,
    Field(discriminator="kind"),
]
"""One source entry; ``kind`` picks camera, folder, synthetic or genicam."""
