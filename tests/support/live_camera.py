"""A live camera stand-in (no camera hardware here), shaped like OpenCV's ``VideoCapture``."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class BufferedLiveCamera:
    """Stands in for a live camera (no hardware here), shaped like ``VideoCapture``: frames are
    exposed at ``fps`` on the wall clock into a driver FIFO of ``buffer`` slots (when full, new
    frames are lost, as V4L2 does); ``read()`` returns the oldest buffered frame. Pixel (0, 0)
    carries the frame number; ``exposed_at`` maps numbers to exposure times."""

    def __init__(self, fps: float = 200.0, buffer: int = 8, fail_at: int | None = None) -> None:
        self.period, self.buffer, self.fail_at = 1.0 / fps, buffer, fail_at
        self.exposed_at: dict[int, float] = {}
        self.opens = 0
        self._fifo: deque[int] = deque()
        self._next_n = 0
        self._t0 = 0.0
        self._open = False
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            self.opens += 1
            self._open, self._t0, self._fifo = True, time.monotonic(), deque()
            self._next_n = max(self.exposed_at, default=-1) + 1
            self._first_n = self._next_n

    def _expose_until(self, now: float) -> None:
        while self._t0 + (self._next_n - self._first_n) * self.period <= now:
            t = self._t0 + (self._next_n - self._first_n) * self.period
            self.exposed_at[self._next_n] = t
            if len(self._fifo) < self.buffer:
                self._fifo.append(self._next_n)
            self._next_n += 1

    def read(self) -> tuple[bool, np.ndarray | None]:
        while True:
            with self._lock:
                if not self._open:
                    return False, None
                self._expose_until(time.monotonic())
                if self._fifo:
                    n = self._fifo.popleft()
                    if self.fail_at is not None and n >= self.fail_at:
                        self.fail_at, self._open = None, False
                        return False, None  # the stream breaks once
                    frame = np.zeros((8, 8, 3), np.uint8)
                    frame[0, 0] = (n & 255, (n >> 8) & 255, (n >> 16) & 255)
                    return True, frame
            time.sleep(self.period / 4)

    def release(self) -> None:
        with self._lock:
            self._open = False

    @property
    def ended(self) -> bool:
        return False


def number(frame: np.ndarray) -> int:
    b, g, r = (int(v) for v in frame[0, 0])
    return b | g << 8 | r << 16
