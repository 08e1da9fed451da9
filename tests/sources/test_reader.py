"""The source reader's manners: the fps limit spaces frames (no burst at start or after a
pause), capture time excludes the limit's wait, and the reconnect backoff doubles to its cap."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np

from inspector.sources import SourceReader
from inspector.sources.config import FolderSourceConfig, SyntheticSourceConfig
from inspector.sources.synthetic import SyntheticSource
from tests.support.logs import LogCapture
from tests.support.parts import FlakyFolder, write_frames


class TimedSynthetic(SyntheticSource):
    """A synthetic camera that notes when each read starts."""

    def __init__(self) -> None:
        super().__init__(SyntheticSourceConfig(kind="synthetic", scene="shapes", width=32, height=32))
        self.read_starts: list[float] = []

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.read_starts.append(time.monotonic())
        return super().read()


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_fps_limit_spaces_frames_at_start_and_after_a_pause() -> None:
    fps = 20.0
    period = 1.0 / fps
    source = TimedSynthetic()
    reader = SourceReader("cam", source, threading.Event(), fps_limit=fps)
    reader.open()
    for _ in range(4):
        assert reader.grab(timeout=10.0) is not None
    time.sleep(3 * period)  # a slow consumer: the limiter must not let frames catch up in a burst
    for _ in range(3):
        assert reader.grab(timeout=10.0) is not None
    reader.close()
    assert len(source.read_starts) == 7
    assert min(gaps(source.read_starts)) >= 0.8 * period, gaps(source.read_starts)


def test_capture_time_excludes_the_fps_wait() -> None:
    period = 0.5
    reader = SourceReader("cam", TimedSynthetic(), threading.Event(), fps_limit=1.0 / period)
    reader.open()
    assert reader.grab(timeout=10.0) is not None
    t0 = time.perf_counter()
    assert reader.grab(timeout=10.0) is not None  # waits about a period for its slot
    wall_ms = (time.perf_counter() - t0) * 1000.0
    reader.close()
    assert wall_ms >= 0.8 * period * 1000.0
    assert reader.last_grab_ms < wall_ms - 0.5 * period * 1000.0


def test_reconnect_backoff_doubles_up_to_its_cap(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path, 3)
    camera = FlakyFolder(FolderSourceConfig(kind="folder", path=tmp_path), fail_after=1, fail_opens=5)
    reader = SourceReader("cam", camera, threading.Event(), backoff_initial_s=0.01, backoff_max_s=0.04)
    reader.open()
    frames = []
    while (frame := reader.grab(timeout=10.0)) is not None:
        frames.append(frame)
    assert len(frames) == 3
    lost = logs.events("source_lost")
    failed = logs.events("source_reconnect_failed")
    waits = [e["retry_in_s"] for e in lost] + [e["next_wait_s"] for e in failed]
    assert waits == [0.01, 0.02, 0.04, 0.04, 0.04, 0.04]
    assert [e["attempt"] for e in failed] == [1, 2, 3, 4, 5]
    assert reader.stats().reconnects == 1 and reader.stats().reconnect_attempts == 6
    assert logs.events("source_reconnected")[0]["reconnects"] == 1
