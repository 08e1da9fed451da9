"""The genicam source's Aravis driver against Aravis' fake GigE Vision camera on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.errors import SourceUnavailable
from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.source import GenicamSource
from inspector.sources.reader import SourceReader, SourceState
from tests.sources.genicam.aravis_fake import ADDRESS, fake_camera, open_when_up, require_aravis, stop
from tests.sources.genicam.conftest import read_frames


@pytest.fixture(autouse=True)
def aravis() -> None:
    require_aravis()


def config(**overrides: Any) -> GenicamSourceConfig:
    entry = {"kind": "genicam", "id": "gige0", "driver": "aravis", "device": ADDRESS, "transport": "gige"}
    return GenicamSourceConfig.model_validate({**entry, "grab_timeout_ms": 2000, **overrides})


@pytest.fixture
def camera() -> Iterator[None]:
    with fake_camera():
        yield


@pytest.mark.usefixtures("camera")
def test_stream_and_software_trigger_from_the_fake_camera() -> None:
    streaming = GenicamSource(config(pixel_format="BayerRG8", grab="sequential", exposure_us=2000.0), False)
    open_when_up(streaming)
    try:
        frames = read_frames(streaming, 5)
    finally:
        streaming.release()
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in frames)
    assert streaming.counters()["lost_frames"] == 0
    triggered = GenicamSource(config(trigger="software", roi={"width": 256, "height": 128}), True)
    open_when_up(triggered)
    try:
        frames, stamps = [], []
        for _ in range(4):  # one trigger, one frame
            frames += read_frames(triggered, 1)
            stamps.append(triggered.last_stamp)
        camera = triggered._camera
        assert camera is not None and camera.get("TriggerSource") == "Software"
    finally:
        triggered.release()
    assert all(f.shape == (128, 256, 3) for f in frames)
    ids = [s.frame_id for s in stamps if s is not None]
    assert len(ids) == 4 and ids == list(range(ids[0], ids[0] + 4))  # the camera's frame_id, in order
    ticks = [s.timestamp for s in stamps if s is not None and s.timestamp is not None]
    assert len(ticks) == 4 and ticks == sorted(ticks)  # the fake camera reports its timestamp
    counts = triggered.counters()
    assert counts["lost_frames"] == 0 and counts["failed_buffers"] == 0


def test_lost_packets_are_counted_as_incomplete_frames_never_as_frames() -> None:
    source = GenicamSource(config(grab="sequential"), False)
    with fake_camera("-r", "3"):  # drops 3 packets per thousand: about half the frames are incomplete
        open_when_up(source)
        try:
            frames = read_frames(source, 12)
        finally:
            source.release()
    counts = source.counters()
    assert counts["failed_buffers"] > 0 and counts["missing_packets"] > 0
    assert len(frames) == 12 and all(f.shape == (512, 512, 3) for f in frames)


def test_a_killed_camera_is_lost_then_reopened_when_it_is_back() -> None:
    source = GenicamSource(config(grab_timeout_ms=500), False)
    reader = SourceReader("gige0", source, threading.Event(), backoff_initial_s=0.1, backoff_max_s=0.5)
    with fake_camera() as first:
        open_when_up(source)
        reader.open()  # opened again by the reader, as the line does
        try:
            assert reader.grab(timeout=5.0) is not None
            stop(first)  # the cable pull
            # Frames received before the pull are real and may still be queued; then none comes:
            # no frame is invented while the camera is away.
            queued = 0
            while reader.grab(timeout=1.0) is not None:
                queued += 1
                assert queued <= config().buffers, "frames keep coming from a camera that is gone"
            assert reader.state is SourceState.LOST
            with fake_camera():
                try:
                    # Aravis gives a dead camera up slowly (its GVCP retries on close): ~12 s here
                    assert reader.grab(timeout=40.0) is not None
                    assert reader.stats().reconnects >= 1
                finally:
                    reader.close()  # while the camera still answers: a quick close
        finally:
            reader.close()


# The other application: a second process that holds the camera until its stdin closes.
HOLDER = """
import sys
from tests.sources.genicam.test_genicam_aravis import config
from tests.sources.genicam.aravis_fake import open_when_up
from inspector.sources.genicam.source import GenicamSource
source = GenicamSource(config(), False)
open_when_up(source)
print("holding", flush=True)
sys.stdin.read()
source.release()
"""


@pytest.mark.usefixtures("camera")
def test_a_camera_in_use_by_another_process_is_a_clear_retryable_error_not_a_hang() -> None:
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None
        lines = iter(holder.stdout.readline, "")  # ends if the holder gives up (open_when_up's timeout)
        assert any(line.strip() == "holding" for line in lines)  # its log lines come first
        with pytest.raises(SourceUnavailable, match="controlled by another application"):
            GenicamSource(config(), False).open()
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
