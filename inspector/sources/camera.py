"""OpenCV VideoCapture source: device index, video file, or RTSP/HTTP stream URL."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspector.errors import SourceError, SourceUnavailable
from inspector.sources.base import as_bgr
from inspector.sources.config import CameraSourceConfig

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


class CameraSource:
    """One VideoCapture. A file ends at its last frame (or loops); a device or stream is reopened."""

    def __init__(self, config: CameraSourceConfig) -> None:
        self._config = config
        self._cap: cv2.VideoCapture | None = None
        self._ended = False
        uri = config.uri.strip()
        self.is_stream = uri.lower().startswith(STREAM_SCHEMES)
        self.device_index = int(uri) if uri.isdigit() else None
        self.is_file = not self.is_stream and self.device_index is None

    def _capture(self) -> cv2.VideoCapture:
        cfg = self._config
        if self.device_index is not None:
            return cv2.VideoCapture(self.device_index)
        if self.is_stream:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(cfg.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(cfg.read_timeout_s * 1000),
            ]
            return cv2.VideoCapture(cfg.uri, cv2.CAP_FFMPEG, params)
        return cv2.VideoCapture(cfg.uri)

    def open(self) -> None:
        cfg = self._config
        if self.is_file and not Path(cfg.uri).is_file():
            raise SourceError(f"source {cfg.id}: video file {cfg.uri} does not exist")
        self.release()
        cap = self._capture()
        if not cap.isOpened():
            cap.release()
            if self.is_file:
                raise SourceError(f"source {cfg.id}: {cfg.uri} is not a video OpenCV can read")
            raise SourceUnavailable(f"source {cfg.id}: cannot open {cfg.uri}")
        if cfg.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width)
        if cfg.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height)
        self._cap = cap

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._cap is None:
            return False, None
        ok, frame = self._cap.read()
        if ok and frame is not None:
            return True, as_bgr(frame)
        if self.is_file:
            if self._config.loop and self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                ok, frame = self._cap.read()
                if ok and frame is not None:
                    return True, as_bgr(frame)
            self._ended = True
        return False, None

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def ended(self) -> bool:
        return self._ended
