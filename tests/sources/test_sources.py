"""Sources: folder order and loop, synthetic determinism, OpenCV on a real video file,
and the reader's reconnect backoff (counted, logged, no invented frames)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.errors import SourceError
from inspector.sources import SourceReader, SourceState, build_source
from inspector.sources.camera import CameraSource
from inspector.sources.config import CameraSourceConfig, FolderSourceConfig, SyntheticSourceConfig
from tests.support.parts import FlakyFolder, write_frames


def read_all(reader: SourceReader, limit: int = 100) -> list[np.ndarray]:
    frames = []
    while len(frames) < limit:
        frame = reader.grab(timeout=5.0)
        if frame is None:
            break
        frames.append(frame)
    return frames


def test_folder_reads_sorted_then_ends(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, 3)
    (tmp_path / "notes.txt").write_text("not an image")
    cfg = FolderSourceConfig(kind="folder", path=tmp_path)
    reader = SourceReader("f", build_source(cfg), threading.Event())
    reader.open()
    frames = read_all(reader)
    assert len(frames) == 3 and reader.ended
    assert all(np.array_equal(f, cv2.imread(str(p))) for f, p in zip(frames, paths, strict=True))


def test_folder_loops(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    cfg = FolderSourceConfig(kind="folder", path=tmp_path, loop=True)
    reader = SourceReader("f", build_source(cfg), threading.Event())
    reader.open()
    frames = read_all(reader, limit=5)
    assert len(frames) == 5 and np.array_equal(frames[0], frames[2])


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    source = build_source(FolderSourceConfig(kind="folder", path=tmp_path / "absent"))
    with pytest.raises(SourceError, match="does not exist"):
        source.open()


def test_synthetic_is_deterministic_and_counted() -> None:
    cfg = SyntheticSourceConfig(kind="synthetic", scene="shapes", width=64, height=48, seed=7, count=3)
    runs = []
    for _ in range(2):
        reader = SourceReader("s", build_source(cfg), threading.Event())
        reader.open()
        runs.append(read_all(reader))
    assert len(runs[0]) == 3 and runs[0][0].shape == (48, 64, 3)
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))
    assert not np.array_equal(runs[0][0], runs[0][1])


def test_opencv_video_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    reader = SourceReader(
        "v", CameraSource(CameraSourceConfig(kind="camera", uri=str(path))), threading.Event()
    )
    reader.open()
    frames = read_all(reader)
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3) and reader.ended


def test_opencv_kinds_and_missing_file(tmp_path: Path) -> None:
    assert CameraSource(CameraSourceConfig(kind="camera", uri="0")).device_index == 0
    assert CameraSource(CameraSourceConfig(kind="camera", uri="rtsp://10.0.0.9/stream")).is_stream
    with pytest.raises(SourceError, match="does not exist"):
        CameraSource(CameraSourceConfig(kind="camera", uri=str(tmp_path / "x.mp4"))).open()


def test_unreachable_stream_is_retried_not_fatal() -> None:
    cfg = CameraSourceConfig(kind="camera", uri="http://127.0.0.1:9/none.mjpg", open_timeout_s=0.5)
    reader = SourceReader("net", CameraSource(cfg), threading.Event(), backoff_initial_s=0.05)
    reader.open()  # does not raise: a camera may come later
    assert reader.state is SourceState.LOST
    assert reader.grab(timeout=0.3) is None  # nothing invented while lost
    assert reader.reconnect_attempts >= 1 and reader.frames == 0
    reader.close()


def test_camera_failing_mid_run_reconnects_without_inventing_frames(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, 6)
    cfg = FolderSourceConfig(kind="folder", path=tmp_path)
    camera = FlakyFolder(cfg, fail_after=2, fail_reads=1, fail_opens=2)
    reader = SourceReader("cam", camera, threading.Event(), backoff_initial_s=0.01, backoff_max_s=0.04)
    reader.open()
    frames = read_all(reader)
    # every frame is a real file, in order, none repeated or blank
    assert [cv2.imread(str(p)).tobytes() for p in paths] == [f.tobytes() for f in frames]
    stats = reader.stats()
    assert stats.read_failures == 1
    assert stats.reconnects == 1 and stats.reconnect_attempts == 3  # two refused reopenings, then success
    assert stats.frames == 6 and stats.state is SourceState.ENDED


def test_stop_interrupts_a_backoff_wait(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    camera = FlakyFolder(FolderSourceConfig(kind="folder", path=tmp_path), fail_after=0, fail_opens=100)
    stop = threading.Event()
    reader = SourceReader("cam", camera, stop, backoff_initial_s=30.0, backoff_max_s=30.0)
    reader.open()
    threading.Timer(0.1, stop.set).start()
    assert reader.grab() is None  # returns on stop, not after the 30 s backoff


def test_synthetic_pcb_boards_come_from_the_board_generator() -> None:
    from inspector.synth import BoardGenerator

    cfg = SyntheticSourceConfig(kind="synthetic", scene="pcb", width=160, height=120, seed=3, count=2)
    reader = SourceReader("pcb", build_source(cfg), threading.Event())
    reader.open()
    frames = read_all(reader)
    assert len(frames) == 2
    assert np.array_equal(frames[1], BoardGenerator((160, 120), 3).render(1)[0])
