"""Latest-frame grabbing: a live camera that buffers frames hands a trigger the scene after it,
not a stale buffered frame; free run gets the newest unread frame; failures reconnect."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from inspector.sources import LatestFrameSource, SourceReader, build_source
from inspector.sources.camera import CameraSource
from inspector.sources.config import CameraSourceConfig
from tests.support.live_camera import BufferedLiveCamera, number


def test_plain_read_of_a_buffered_camera_is_stale_and_latest_is_not() -> None:
    stop = threading.Event()
    plain_cam, latest_cam = BufferedLiveCamera(), BufferedLiveCamera()
    plain = SourceReader("plain", plain_cam, stop)
    latest = SourceReader("latest", LatestFrameSource(latest_cam, "latest", after_request=True), stop)
    plain.open()
    latest.open()
    try:
        time.sleep(0.3)  # the line waits for the next part; the cameras keep exposing
        t_trigger = time.monotonic()
        stale, fresh = plain.grab(timeout=2.0), latest.grab(timeout=2.0)
        assert stale is not None and fresh is not None
        assert plain_cam.exposed_at[number(stale)] < t_trigger - 0.2  # the problem: a frame from the past
        assert latest_cam.exposed_at[number(fresh)] >= t_trigger - latest_cam.period  # the scene after it
        for _ in range(3):  # every later trigger too
            time.sleep(0.05)
            t_trigger = time.monotonic()
            frame = latest.grab(timeout=2.0)
            assert frame is not None
            assert latest_cam.exposed_at[number(frame)] >= t_trigger - latest_cam.period
    finally:
        plain.close()
        latest.close()


def test_free_run_gets_the_newest_unread_frame_never_twice() -> None:
    camera = BufferedLiveCamera(fps=200.0)
    source = LatestFrameSource(camera, "cam", after_request=False)
    reader = SourceReader("cam", source, threading.Event())
    reader.open()
    try:
        seen = []
        for _ in range(5):
            time.sleep(0.03)  # a consumer slower than the camera
            frame = reader.grab(timeout=2.0)
            assert frame is not None
            seen.append(number(frame))
        assert seen == sorted(set(seen))  # strictly increasing: nothing handed out twice
        assert all(b - a >= 2 for a, b in itertools.pairwise(seen))  # old frames skipped
        assert source.skipped > 0 and source.grabbed >= len(seen)
    finally:
        reader.close()


def test_a_broken_stream_is_reopened_and_the_grabber_restarts() -> None:
    camera = BufferedLiveCamera(fps=200.0, fail_at=10)
    reader = SourceReader(
        "cam",
        LatestFrameSource(camera, "cam", after_request=False),
        threading.Event(),
        backoff_initial_s=0.05,
    )
    reader.open()
    try:
        frames = []
        deadline = time.monotonic() + 5.0
        while (reader.reconnects == 0 or len(frames) < 6) and time.monotonic() < deadline:
            frames.append(reader.grab(timeout=2.0))
            time.sleep(0.01)
        assert all(f is not None for f in frames)
        assert number(frames[-1]) > 10  # frames after the break come from the reopened stream
        assert camera.opens == 2 and reader.reconnects == 1 and reader.read_failures == 1
    finally:
        reader.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("grab.")]


def test_no_fresh_frame_within_the_wait_is_a_failed_read() -> None:
    camera = BufferedLiveCamera(fps=0.5)  # first frame at open, the next one 2 s later
    source = LatestFrameSource(camera, "slow", after_request=True, max_wait_s=0.2)
    source.open()
    try:
        time.sleep(0.05)
        assert source.read() == (False, None)
    finally:
        source.release()


@pytest.mark.parametrize(
    ("uri", "grab", "latest"),
    [
        ("0", "auto", True),
        ("rtsp://10.0.0.9/stream", "auto", True),
        ("clip.avi", "auto", False),
        ("clip.avi", "latest", True),
        ("0", "sequential", False),
    ],
)
def test_grab_mode_from_config(tmp_path: Path, uri: str, grab: str, latest: bool) -> None:
    cfg = CameraSourceConfig(kind="camera", uri=uri, grab=grab)  # type: ignore[arg-type]
    source = build_source(cfg, triggered=True)
    assert isinstance(source, LatestFrameSource) is latest
    assert isinstance(build_source(cfg, device=BufferedLiveCamera()), LatestFrameSource) is latest
    if not latest:
        assert isinstance(source, CameraSource)
