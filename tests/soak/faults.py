"""Fault injection for the soak run: a camera that drops out, a PLC that goes away.

``FaultyCamera`` wraps any FrameSource (same interface: open/read/release/ended)
and, when told to, fails reads and refuses a few reopen attempts — a GigE camera
unplugged and plugged back. ``FaultPlan`` spreads N faults evenly over the run: over
its duration, or over its frames when it is given a frame count and a progress counter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from inspector.errors import SourceUnavailable


class FaultyCamera:
    """A source that fails on demand: ``fault()`` makes reads fail and the next reopens refuse."""

    def __init__(self, inner: object, failed_reads: int = 2, refused_opens: int = 1) -> None:
        self.inner = inner
        self.failed_reads = failed_reads
        self.refused_opens = refused_opens
        self._lock = threading.Lock()
        self._reads_to_fail = 0
        self._opens_to_refuse = 0
        self.faults = 0
        self.opens = 0
        self.frames_since_fault = 0  # > 0 at the end: the camera came back after the last fault

    def fault(self) -> None:
        with self._lock:
            self._reads_to_fail = self.failed_reads
            self._opens_to_refuse = self.refused_opens
            self.faults += 1
            self.frames_since_fault = 0

    def open(self) -> None:
        with self._lock:
            if self._opens_to_refuse > 0:
                self._opens_to_refuse -= 1
                raise SourceUnavailable("injected camera fault: device not answering")
        self.inner.open()  # type: ignore[attr-defined]
        self.opens += 1

    def read(self) -> tuple[bool, np.ndarray | None]:
        with self._lock:
            if self._reads_to_fail > 0:
                self._reads_to_fail -= 1
                return False, None
        result: tuple[bool, np.ndarray | None] = self.inner.read()  # type: ignore[attr-defined]
        if result[0]:
            with self._lock:
                self.frames_since_fault += 1
        return result

    def release(self) -> None:
        self.inner.release()  # type: ignore[attr-defined]

    @property
    def ended(self) -> bool:
        return bool(self.inner.ended)  # type: ignore[attr-defined]


@dataclass
class FaultPlan:
    """Fires ``count`` faults evenly from its own thread (never two at once): over ``duration_s``,
    or, with ``total_frames`` and ``progress`` (frames captured so far), over those frames."""

    name: str
    count: int
    duration_s: float
    fire: Callable[[], None]
    total_frames: int | None = None
    progress: Callable[[], int] | None = None
    fired: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self.count <= 0:
            return
        self._thread = threading.Thread(target=self._run, name=f"soak-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        for i in range(1, self.count + 1):
            if not self._wait_for(i, t0):
                return
            try:
                self.fire()
                self.fired += 1
            except Exception as exc:  # report, keep the plan going
                self.errors.append(repr(exc))

    def _wait_for(self, i: int, t0: float) -> bool:
        """Until fault ``i`` is due; False when stopped first."""
        if self.total_frames is None or self.progress is None:
            period = self.duration_s / (self.count + 1)
            return not self._stop.wait(max(0.0, t0 + i * period - time.monotonic()))
        due = i * self.total_frames / (self.count + 1)
        while self.progress() < due:
            if self._stop.wait(0.05):
                return False
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
