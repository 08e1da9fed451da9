"""Frame sources: OpenCV cameras/files/streams, image folders, synthetic scenes."""

from __future__ import annotations

from inspector.sources.base import FrameSource
from inspector.sources.camera import CameraSource
from inspector.sources.config import (
    CameraSourceConfig,
    FolderSourceConfig,
    SourceConfig,
    SyntheticSourceConfig,
)
from inspector.sources.folder import FolderSource
from inspector.sources.reader import SourceReader, SourceState, SourceStats
from inspector.sources.synthetic import SyntheticSource


def build_source(config: SourceConfig) -> FrameSource:
    """The source a config entry describes (not yet opened)."""
    if isinstance(config, CameraSourceConfig):
        return CameraSource(config)
    if isinstance(config, FolderSourceConfig):
        return FolderSource(config)
    return SyntheticSource(config)


__all__ = [
    "CameraSource",
    "FolderSource",
    "FrameSource",
    "SourceReader",
    "SourceState",
    "SourceStats",
    "SyntheticSource",
    "SyntheticSourceConfig",
    "build_source",
]
