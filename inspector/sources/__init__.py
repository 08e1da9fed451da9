"""Frame sources: OpenCV cameras/files/streams, image folders, synthetic scenes.

Names are imported lazily so that loading the config (``inspector.sources.config``)
does not import OpenCV: ``inspector check`` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.sources.base import BadFrameError, FrameSource, SourceOptions
    from inspector.sources.camera import CameraSource, grabs_latest
    from inspector.sources.config import (
        CameraSourceConfig,
        FolderSourceConfig,
        SourceConfig,
        SyntheticSourceConfig,
    )
    from inspector.sources.folder import FolderSource
    from inspector.sources.latest import LatestFrameSource
    from inspector.sources.reader import SourceReader, SourceState, SourceStats
    from inspector.sources.registry import SOURCE_KINDS, SourceKind, build_source
    from inspector.sources.synthetic import SyntheticSource

_EXPORTS = {
    "BadFrameError": "inspector.sources.base",
    "FrameSource": "inspector.sources.base",
    "CameraSource": "inspector.sources.camera",
    "CameraSourceConfig": "inspector.sources.config",
    "FolderSourceConfig": "inspector.sources.config",
    "SourceConfig": "inspector.sources.config",
    "SyntheticSourceConfig": "inspector.sources.config",
    "SOURCE_KINDS": "inspector.sources.registry",
    "SourceKind": "inspector.sources.registry",
    "SourceOptions": "inspector.sources.base",
    "build_source": "inspector.sources.registry",
    "grabs_latest": "inspector.sources.camera",
    "FolderSource": "inspector.sources.folder",
    "LatestFrameSource": "inspector.sources.latest",
    "SourceReader": "inspector.sources.reader",
    "SourceState": "inspector.sources.reader",
    "SourceStats": "inspector.sources.reader",
    "SyntheticSource": "inspector.sources.synthetic",
}

__all__ = [
    "SOURCE_KINDS",
    "BadFrameError",
    "CameraSource",
    "CameraSourceConfig",
    "FolderSource",
    "FolderSourceConfig",
    "FrameSource",
    "LatestFrameSource",
    "SourceConfig",
    "SourceKind",
    "SourceOptions",
    "SourceReader",
    "SourceState",
    "SourceStats",
    "SyntheticSource",
    "SyntheticSourceConfig",
    "build_source",
    "grabs_latest",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
