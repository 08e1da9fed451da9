"""Aravis' fake GigE Vision camera (``arv-fake-gv-camera-0.8``) on 127.0.0.1, in its own process.

Needs the Debian packages aravis-tools and gir1.2-aravis-0.8 and PyGObject in the venv
(``pip install 'inspector[aravis]'``); without them the tests skip naming them, and fail
under CI=true (.ci/run installs them). Only the loopback address is ever used: Aravis' own
discovery would broadcast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from inspector.errors import SourceUnavailable
from inspector.sources.genicam.source import GenicamSource

FAKE_CAMERA = "arv-fake-gv-camera-0.8"
ADDRESS = "127.0.0.1"
SERIAL = "GC0001"
PACKAGES = (
    "apt-get install aravis-tools gir1.2-aravis-0.8 libgirepository1.0-dev libcairo2-dev; "
    "pip install 'inspector[aravis]'"
)


def require_aravis() -> None:
    why = ""
    if shutil.which(FAKE_CAMERA) is None:
        why = f"{FAKE_CAMERA} is not installed"
    else:
        try:
            import gi

            gi.require_version("Aravis", "0.8")
        except (ImportError, ValueError) as exc:
            why = f"Aravis' Python bindings are missing ({exc})"
    if not why:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{why} but CI is set: .ci/run must install it", pytrace=False)
    pytest.skip(f"{why} ({PACKAGES})")


@contextmanager
def fake_camera(*options: str) -> Iterator[subprocess.Popen[bytes]]:
    """The fake camera serving on 127.0.0.1 until the block ends (``options``: e.g. '-r', '2')."""
    process = subprocess.Popen(
        [FAKE_CAMERA, "-i", ADDRESS, "-s", SERIAL, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def open_when_up(source: GenicamSource, timeout: float = 15.0) -> None:
    """Open ``source`` once the fake camera answers (it needs a moment after its start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            source.open()
            return
        except SourceUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
