"""A real RTSP camera (gst-rtsp-server, tests/sources/rtsp_server.py) read through OpenCV's FFmpeg.

FFmpeg's RTSP open blocks while it probes the stream and keeps what arrived meanwhile: the
first reads return those buffered frames at decode speed. Each frame carries the monotonic
time it was made, so the test can tell how old each part was when the line got it.

A live frame is never brand new: it spends the stream's latency (encoder, network, decoder)
on the way, ~2 frame intervals here. So "made after the open" means: no older, at the open,
than the stream's own latency (measured on the same parts) plus one frame interval of
jitter; a buffered frame is older by up to the whole time the open blocked.
"""

from __future__ import annotations

import threading

import pytest

from inspector.sources import SourceReader, build_source
from inspector.sources.camera import CameraSource
from inspector.sources.config import CameraSourceConfig
from tests.sources.rtsp import monotonic_ms, rtsp_camera, stamp_ms, unavailable

OPENS = 2  # the first open and a reopen, as after a lost stream
PARTS_PER_OPEN = 4


@pytest.mark.parametrize("grab", ["sequential", "auto"])
def test_parts_after_an_rtsp_open_are_frames_made_after_it(grab: str) -> None:
    """sequential: every frame in order, so each buffered one would be a part; auto (a stream:
    the latest-frame grabber) hands a waiting capture stage each frame as it is read, so the
    buffered ones became parts too, as many as the capture stage asked for during the burst."""
    with rtsp_camera(fps=5) as camera:
        cfg = CameraSourceConfig(
            kind="camera", uri=camera.url, open_timeout_s=2.0, read_timeout_s=3.0, grab=grab
        )
        capture = CameraSource(cfg)
        source = build_source(cfg, device=capture)
        for _ in range(OPENS):
            reader = SourceReader("rtsp", source, threading.Event())
            reader.open()
            assert capture.connected_at is not None
            connected_ms = int(capture.connected_at * 1000)
            stamps, latency_ms = [], 10**9
            for _ in range(PARTS_PER_OPEN):
                frame = reader.grab(timeout=5.0)
                assert frame is not None
                stamps.append(stamp_ms(frame))
                # the freshest part's age on arrival: the stream's own latency (a buffered frame is older)
                latency_ms = min(latency_ms, monotonic_ms() - stamps[-1])
            reader.close()
            # no part is a frame that waited in FFmpeg's buffer while the open blocked
            age_at_open = connected_ms - stamps[0]
            assert age_at_open <= latency_ms + 1000 // camera.fps, (
                f"the first part was made {age_at_open} ms before the open (stream latency {latency_ms} ms)"
            )
            assert stamps == sorted(set(stamps))  # each part a new frame


def test_a_missing_rtsp_server_fails_under_ci_and_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        unavailable("gir1.2-gst-rtsp-server-1.0 is not installed")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        unavailable("gir1.2-gst-rtsp-server-1.0 is not installed")
