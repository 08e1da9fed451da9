"""OpenCV VideoCapture source: device index, video file, or RTSP/HTTP stream URL.

A stream's open blocks while FFmpeg probes it (up to ``open_timeout_s``) and keeps the frames
that arrive meanwhile; they come back at decode speed, one after another, as if new. A frame
made before the open completed is not a new part, so ``open`` drops that backlog: it grabs and
discards while frames come faster than half the stream's frame interval, and keeps the first
frame it had to wait for.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from inspector.errors import SourceError, SourceUnavailable
from inspector.logging import get_logger
from inspector.sources.base import FrameSource, SourceOptions, as_bgr
from inspector.sources.config import CameraSourceConfig
from inspector.sources.latest import LatestFrameSource

log = get_logger("inspector.sources")

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
LIVE_WAIT = 0.5  # a grab that waited this share of the frame interval got a frame made after the open
FALLBACK_FPS = 30.0  # a stream that states no plausible rate is taken as this fast (a short interval)
MAX_BACKLOG = 2000  # frames; a backlog is at most open_timeout_s times the rate
MIN_DRAIN_S = 0.5  # the drain's time bound after a quick open


class CameraSource:
    """One VideoCapture. A file ends at its last frame (or loops); a device or stream is reopened."""

    def __init__(self, config: CameraSourceConfig) -> None:
        self._config = config
        self._cap: cv2.VideoCapture | None = None
        self._ended = False
        self.connected_at: float | None = None  # monotonic time the last open connected
        self.backlog_dropped = 0  # frames buffered during the last open, discarded
        self._first: np.ndarray | None = None  # the first live frame, found while dropping the backlog
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
        t_open = time.monotonic()
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
        self.connected_at = time.monotonic()
        if self.is_stream:
            self._first = self._drop_backlog(cap, self.connected_at - t_open)

    def _drop_backlog(self, cap: cv2.VideoCapture, open_s: float) -> np.ndarray:
        """Grab and discard the frames buffered while the open blocked (``open_s``); keep the first
        grab that had to wait for the stream, a frame that arrived after the open. The very first
        grab is always dropped: it also pays for the decoder's start. Decoding is faster than the
        stream, so the backlog is gone within ``open_s``: that (at least MIN_DRAIN_S, at most
        ``open_timeout_s``) bounds the drain even when the stream's stated rate is wrong."""
        cfg = self._config
        fps = cap.get(cv2.CAP_PROP_FPS)
        interval = 1.0 / (fps if 0.5 <= fps <= 1000.0 else FALLBACK_FPS)
        t_start = time.monotonic()
        deadline = t_start + min(cfg.open_timeout_s, max(MIN_DRAIN_S, open_s))
        grabs, waited = 0, False
        while not waited and grabs < MAX_BACKLOG and (grabs == 0 or time.monotonic() < deadline):
            t_grab = time.monotonic()
            if not cap.grab():
                self.release()
                raise SourceUnavailable(f"source {cfg.id}: {cfg.uri} stopped while its backlog was dropped")
            grabs += 1
            waited = grabs > 1 and time.monotonic() - t_grab >= LIVE_WAIT * interval
        ok, frame = cap.retrieve()
        if not ok or frame is None:
            self.release()
            raise SourceUnavailable(f"source {cfg.id}: {cfg.uri} gave no frame after opening")
        self.backlog_dropped = grabs - 1
        log.info(
            "source_backlog_dropped",
            source=cfg.id,
            frames=grabs - 1,
            caught_up=waited,  # False: the bound ended it (the stream's stated rate may be wrong)
            ms=round((time.monotonic() - t_start) * 1000.0, 1),
        )
        return as_bgr(frame)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._cap is None:
            return False, None
        if self._first is not None:
            first, self._first = self._first, None
            return True, first
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
        self._first = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def ended(self) -> bool:
        return self._ended


def grabs_latest(config: CameraSourceConfig) -> bool:
    """Whether a camera is drained on its own thread (live devices and streams by default)."""
    return config.grab == "latest" or (config.grab == "auto" and not CameraSource(config).is_file)


def build(config: CameraSourceConfig, options: SourceOptions) -> FrameSource:
    """A VideoCapture (or the stand-in device), behind a latest-frame grabber when it is live."""
    source = options.device or CameraSource(config)
    if grabs_latest(config):
        wait_s = config.read_timeout_s
        return LatestFrameSource(source, config.id, after_request=options.triggered, max_wait_s=wait_s)
    return source
