"""A source with the line's manners: fps limit, reconnect with exponential backoff, counters.

Frames are never invented: while a source is lost the reader returns nothing
and says so (state, log events, counters); it never fills the gap. A frame the source read
but that cannot be inspected (``BadFrameError``) is raised to the caller, which fails that
part safe; the source stays open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from inspector.errors import SourceError, SourceUnavailable
from inspector.logging import get_logger
from inspector.sources.base import BadFrameError, DeviceStamp, FrameSource

log = get_logger("inspector.sources")


class SourceState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    ENDED = "ended"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SourceStats:
    """A snapshot of a reader's counters, for stats and health."""

    source_id: str
    state: SourceState
    frames: int
    read_failures: int
    reconnects: int
    reconnect_attempts: int
    lost_since: float | None  # monotonic time the source was lost, None while connected
    last_frame_t: float | None
    bad_frames: int = 0  # frames read but not inspectable (failed safe)
    # the device's own counters where it keeps some (an industrial camera: lost frames, failed buffers)
    device: Mapping[str, int] = field(default_factory=dict)


class SourceReader:
    """Reads one ``FrameSource`` for a capture stage; ``stop`` interrupts every wait."""

    def __init__(
        self,
        source_id: str,
        source: FrameSource,
        stop: threading.Event,
        fps_limit: float | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 5.0,
        on_state: Callable[[str, SourceState], None] | None = None,
    ) -> None:
        self.source_id = source_id
        self._source = source
        self._stop = stop
        self._period = 1.0 / fps_limit if fps_limit else 0.0
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_initial_s
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self.state = SourceState.CONNECTING
        self.frames = 0
        self.bad_frames = 0
        self.read_failures = 0
        self.reconnects = 0  # successful reopenings after a loss
        self.reconnect_attempts = 0
        self._next_attempt_t = 0.0
        self._last_wait = 0.0
        self.last_grab_ms = 0.0  # the last frame's read time, fps-limit wait excluded
        self.last_stamp: DeviceStamp | None = None  # the last frame's camera counter/timestamp, if any
        self.lost_since: float | None = None
        self.last_frame_t: float | None = None
        self._opened = False
        self._on_state = on_state

    def stats(self) -> SourceStats:
        with self._lock:
            return SourceStats(
                self.source_id,
                self.state,
                self.frames,
                self.read_failures,
                self.reconnects,
                self.reconnect_attempts,
                self.lost_since,
                self.last_frame_t,
                self.bad_frames,
                self._device_counters(),
            )

    def _device_counters(self) -> Mapping[str, int]:
        counters = getattr(self._source, "counters", None)
        return dict(counters()) if callable(counters) else {}

    @property
    def ended(self) -> bool:
        return self.state is SourceState.ENDED

    def open(self) -> None:
        """First open. A fatal SourceError propagates; an unavailable source is retried by ``grab``."""
        try:
            self._source.open()
        except SourceUnavailable as exc:
            self._mark_lost(str(exc))
            return
        self._opened = True
        self._set_state(SourceState.CONNECTED)
        log.info("source_opened", source=self.source_id)

    def grab(self, timeout: float | None = None) -> np.ndarray | None:
        """The next frame; None at the end, on stop, or when ``timeout`` passes while the source is lost.
        Raises ``BadFrameError`` for a frame that was read but cannot be inspected (a part all the same)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set() and self.state is not SourceState.ENDED:
            if not self._opened and not self._reconnect(deadline):
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            self._wait_for_slot()
            if self._stop.is_set():
                return None
            t_read = time.perf_counter()
            ok, frame = self._read()
            if ok and frame is not None:
                self.last_grab_ms = (time.perf_counter() - t_read) * 1000.0
                return self._took(frame)
            if self._source.ended:
                self._set_state(SourceState.ENDED)
                log.info("source_ended", source=self.source_id, frames=self.frames)
                return None
            self._failed("read failed")
            if deadline is not None and time.monotonic() >= deadline:
                return None
        return None

    def close(self) -> None:
        self._source.release()
        if self.state is not SourceState.ENDED:
            self._set_state(SourceState.CLOSED)

    def _read(self) -> tuple[bool, np.ndarray | None]:
        try:
            return self._source.read()
        except BadFrameError as exc:
            with self._lock:
                self.bad_frames += 1
            log.warning("source_bad_frame", source=self.source_id, error=exc.reason, origin=exc.origin)
            raise
        except SourceError as exc:
            log.warning("source_read_error", source=self.source_id, error=str(exc))
            return False, None
        finally:  # a bad frame keeps its stamp too: its fail-safe record names the camera's frame
            stamp = getattr(self._source, "last_stamp", None)
            self.last_stamp = stamp if isinstance(stamp, DeviceStamp) else None

    def _took(self, frame: np.ndarray) -> np.ndarray:
        now = time.monotonic()
        with self._lock:
            self.frames += 1
            self.last_frame_t = now
        if self.state is not SourceState.CONNECTED:
            down_s = now - self.lost_since if self.lost_since is not None else 0.0
            log.info(
                "source_reconnected",
                source=self.source_id,
                reconnects=self.reconnects,
                down_s=round(down_s, 3),
            )
            with self._lock:
                self.lost_since = None
            self._set_state(SourceState.CONNECTED)
        self._backoff = self._backoff_initial
        return frame

    def _failed(self, why: str) -> None:
        with self._lock:
            self.read_failures += 1
        self._source.release()
        self._opened = False
        self._mark_lost(why)

    def _mark_lost(self, why: str) -> None:
        self._schedule_retry()
        if self.state is not SourceState.LOST:
            with self._lock:
                self.lost_since = time.monotonic()
            self._set_state(SourceState.LOST)
            log.warning("source_lost", source=self.source_id, error=why, retry_in_s=self._last_wait)

    def _schedule_retry(self) -> None:
        self._last_wait = round(self._backoff, 3)
        self._next_attempt_t = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2.0, self._backoff_max)

    def _reconnect(self, deadline: float | None) -> bool:
        """Wait for the next attempt (or the caller's deadline) and reopen; True once open again."""
        until = self._next_attempt_t if deadline is None else min(self._next_attempt_t, deadline)
        if self._stop.wait(max(0.0, until - time.monotonic())):
            return False
        if time.monotonic() < self._next_attempt_t:
            return False  # the caller's deadline came first; the backoff schedule stands
        with self._lock:
            self.reconnect_attempts += 1
        try:
            self._source.open()
        except SourceError as exc:  # unavailable now, or a fatal error: keep trying with backoff
            self._schedule_retry()
            log.warning(
                "source_reconnect_failed",
                source=self.source_id,
                attempt=self.reconnect_attempts,
                error=str(exc),
                next_wait_s=self._last_wait,
            )
            return False
        with self._lock:
            self.reconnects += 1
        self._opened = True
        return True

    def _wait_for_slot(self) -> None:
        """Hold the read until one period after the previous one. The next slot counts from the
        later of the planned slot and now: after a pause (a slow consumer, a reconnect) the
        limit still spaces frames by a period instead of letting a burst through to catch up."""
        if not self._period:
            return
        now = time.monotonic()
        if self._next_slot > now:
            self._stop.wait(self._next_slot - now)
            now = time.monotonic()
        self._next_slot = max(self._next_slot, now) + self._period

    def _set_state(self, state: SourceState) -> None:
        with self._lock:
            changed, self.state = self.state is not state, state
        if changed and self._on_state is not None:
            self._on_state(self.source_id, state)
