"""Latest-frame grabbing for live cameras and streams.

A live VideoCapture buffers frames (the driver, FFmpeg's RTSP demuxer): a
consumer that reads slower than the camera, or only on a PLC trigger, gets a
frame from the past — the part that was in view a moment ago, not the one the
trigger is about. ``LatestFrameSource`` drains the source on its own thread,
keeps only the newest frame, and ``read()`` hands out a frame that arrived
after the call began, so a trigger always sees the scene after it. Frames
nobody asked for are discarded (counted in ``skipped``), never queued.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from inspector.errors import SourceError
from inspector.logging import get_logger
from inspector.sources.base import FrameSource

log = get_logger("inspector.sources")


class LatestFrameSource:
    """Wraps a live ``FrameSource``; the same interface, with ``read()`` giving the freshest frame."""

    def __init__(
        self, source: FrameSource, source_id: str, after_request: bool = True, max_wait_s: float = 5.0
    ) -> None:
        self._source = source
        # triggered capture: only a frame that arrived after read() began; free run: the newest unread one
        self._after_request = after_request
        self._source_id = source_id
        self._max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._frame_t = 0.0
        self._failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.grabbed = 0  # frames read from the source
        self.skipped = 0  # frames replaced by a newer one before anybody asked

    def open(self) -> None:
        self.release()
        self._source.open()
        with self._cond:
            self._frame, self._failed = None, False
        self._stop.clear()
        self._thread = threading.Thread(target=self._drain, name=f"grab.{self._source_id}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                ok, frame = self._source.read()
            except SourceError as exc:
                log.warning("source_read_error", source=self._source_id, error=str(exc))
                ok, frame = False, None
            with self._cond:
                if not ok or frame is None:
                    self._failed = True  # the reader reopens the source; this thread ends
                    self._cond.notify_all()
                    return
                self.grabbed += 1
                self.skipped += int(self._frame is not None)
                self._frame, self._frame_t = frame, time.monotonic()
                self._cond.notify_all()

    def read(self) -> tuple[bool, np.ndarray | None]:
        """The newest frame not handed out yet (with ``after_request``: one that arrived after this
        call began); (False, None) on failure or after ``max_wait_s``."""
        now = time.monotonic()
        asked, deadline = (now if self._after_request else 0.0), now + self._max_wait_s
        with self._cond:
            while True:
                if self._frame is not None and self._frame_t >= asked:
                    frame, self._frame = self._frame, None
                    return True, frame
                if self._failed or self._thread is None:
                    return False, None
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("source_no_fresh_frame", source=self._source_id, waited_s=self._max_wait_s)
                    return False, None
                self._cond.wait(left)

    def release(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        # join before release: VideoCapture is not safe to release under a read on another thread
        if thread is not None:
            thread.join(self._max_wait_s + 1.0)
            if thread.is_alive():
                log.warning("source_grabber_stuck", source=self._source_id)
        self._source.release()

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._source.ended and self._frame is None
