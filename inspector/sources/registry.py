"""Building the source a config entry describes."""

from __future__ import annotations

from inspector.sources.base import FrameSource
from inspector.sources.camera import CameraSource
from inspector.sources.config import CameraSourceConfig, FolderSourceConfig, SourceConfig
from inspector.sources.folder import FolderSource
from inspector.sources.latest import LatestFrameSource
from inspector.sources.synthetic import SyntheticSource


def build_source(
    config: SourceConfig, triggered: bool = False, device: FrameSource | None = None
) -> FrameSource:
    """The source a config entry describes (not yet opened). ``device`` stands in for the camera
    (hardware we cannot have here) behind the same interface, grabbed the same way."""
    source: FrameSource
    if isinstance(config, CameraSourceConfig):
        source = device or CameraSource(config)
        if grabs_latest(config):
            return LatestFrameSource(
                source, config.id, after_request=triggered, max_wait_s=config.read_timeout_s
            )
        return source
    if device is not None:
        return device
    if isinstance(config, FolderSourceConfig):
        return FolderSource(config)
    return SyntheticSource(config)


def grabs_latest(config: CameraSourceConfig) -> bool:
    """Whether a camera is drained on its own thread (live devices and streams by default)."""
    return config.grab == "latest" or (config.grab == "auto" and not CameraSource(config).is_file)
