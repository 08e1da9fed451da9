"""A real RTSP camera for tests: tests/sources/rtsp_server.py (gst-rtsp-server) in its own process.

The server runs on the system Python that has PyGObject; it is missing on a bare machine, where
the tests skip naming the Debian packages (and fail under CI=true: .ci/run installs them).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi (the venv's python has no gi)
PACKAGES = (  # the list .ci/run installs
    "python3-gi gir1.2-gst-rtsp-server-1.0 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly"
)
BLOCK, COLS, BITS = 40, 8, 48  # the stamp layout of rtsp_server.stamp_frame
START_TIMEOUT_S = 20.0


def unavailable(why: str) -> None:
    """Skip locally; under CI fail, so CI cannot pass without the RTSP checks."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{why} but CI is set: .ci/run must install it", pytrace=False)
    pytest.skip(f"{why} (apt-get install {PACKAGES}; .ci/run installs them)")


def require_ffmpeg_rtsp() -> None:
    import cv2

    video_io = cv2.getBuildInformation().split("Video I/O:", 1)[-1]
    if not any(line.split() == ["FFMPEG:", "YES"] for line in video_io.splitlines()[:3]):
        unavailable("this opencv-python has no FFmpeg backend, which reads RTSP")


@dataclass(frozen=True)
class RtspCamera:
    url: str
    fps: int


@contextmanager
def rtsp_camera(fps: int = 5) -> Iterator[RtspCamera]:
    """A live RTSP camera on 127.0.0.1 for the duration of the block; the process is gone after."""
    require_ffmpeg_rtsp()
    if not Path(SYSTEM_PYTHON).exists():
        unavailable(f"{SYSTEM_PYTHON} is not installed (python3-gi needs Debian's python3)")
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(SERVER), "--fps", str(fps)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = read_line(proc, START_TIMEOUT_S)
        if line.startswith("missing "):
            unavailable(f"the RTSP test server needs {line.removeprefix('missing ')}")
        if not line.startswith("port "):
            pytest.fail(f"RTSP test server did not start: {line!r}", pytrace=False)
        yield RtspCamera(f"rtsp://127.0.0.1:{int(line.split()[1])}/cam", fps)
    finally:
        stop(proc)


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return f"(nothing within {timeout_s} s)"
    return proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()  # the server's signal to quit
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5.0)
    if proc.stdout is not None:
        proc.stdout.close()


def stamp_ms(frame: np.ndarray) -> int:
    """The CLOCK_MONOTONIC ms the server made ``frame`` (``time.monotonic()`` reads the same clock)."""
    grey = frame[:, :, 1] if frame.ndim == 3 else frame
    ms = 0
    for bit in range(BITS):
        row, col = divmod(bit, COLS)
        ms = (ms << 1) | int(grey[row * BLOCK + BLOCK // 2, col * BLOCK + BLOCK // 2] > 128)
    return ms


def monotonic_ms() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000
