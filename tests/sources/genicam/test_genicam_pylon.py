"""The genicam source on pylon's camera emulation serving synthetic boards from a folder."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.errors import SourceError
from inspector.sources.base import BadFrameError
from inspector.sources.genicam.source import GenicamSource
from inspector.sources.reader import SourceReader, SourceState
from tests.sources.genicam.conftest import SERIALS, boards, emulated, mosaic, read_frames

pytestmark = pytest.mark.usefixtures("pylon")


def opened(config_source: GenicamSource) -> GenicamSource:
    config_source.open()
    return config_source


def test_mono8_frames_equal_opencvs_grey_of_the_file(tmp_path: Path) -> None:
    files = boards(tmp_path, 3, grey=True)
    source = opened(GenicamSource(emulated(tmp_path, pixel_format="Mono8", trigger="software"), False))
    try:
        frames = read_frames(source, 3)
    finally:
        source.release()
    for frame, path in zip(frames, files, strict=True):
        expected = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)
        assert frame.dtype == np.uint8 and np.array_equal(frame, expected)


def test_bayer_rg8_frames_equal_opencvs_debayering_of_the_file(tmp_path: Path) -> None:
    files = boards(tmp_path, 2)
    source = opened(GenicamSource(emulated(tmp_path, pixel_format="BayerRG8", trigger="software"), False))
    try:
        frames = read_frames(source, 2)
    finally:
        source.release()
    for frame, path in zip(frames, files, strict=True):
        image = cv2.imread(str(path))
        expected = cv2.cvtColor(mosaic(image, "RG"), cv2.COLOR_BayerBG2BGR)  # OpenCV's name for RG
        assert np.array_equal(frame, expected)
        assert np.abs(frame.astype(int) - image).mean() < 20  # and the colours came back


def test_bgr8_frames_are_the_files_in_order_with_no_loss(tmp_path: Path) -> None:
    files = boards(tmp_path, 3)
    config = emulated(tmp_path, pixel_format="BGR8", grab="sequential", exposure_us=5000.0, gain_db=0.0)
    source = opened(GenicamSource(config, False))
    try:
        frames = read_frames(source, 6)
    finally:
        source.release()
    first = next(i for i, f in enumerate(files) if np.array_equal(frames[0], cv2.imread(str(f))))
    for k, frame in enumerate(frames):  # the folder loops
        assert np.array_equal(frame, cv2.imread(str(files[(first + k) % 3])))
    assert source.counters()["lost_frames"] == 0 and source.counters()["failed_buffers"] == 0


def test_frames_carry_the_cameras_increasing_counter_and_no_timestamp(tmp_path: Path) -> None:
    boards(tmp_path, 2)
    config = emulated(tmp_path, pixel_format="BGR8", trigger="software", grab="sequential")
    source = opened(GenicamSource(config, False))
    try:
        stamps = []
        for _ in range(4):
            read_frames(source, 1)
            stamps.append(source.last_stamp)
    finally:
        source.release()
    ids = [s.frame_id for s in stamps if s is not None]
    assert len(ids) == 4 and ids == list(range(ids[0], ids[0] + 4))  # one exposure per read, none lost
    assert all(s is not None and s.timestamp is None for s in stamps)  # the emulator's ticks are all 0


def test_a_refused_feature_is_named_with_its_value(tmp_path: Path) -> None:
    boards(tmp_path, 1)
    config = emulated(tmp_path, features={"ExposureTimeAbs": 1e9})
    with pytest.raises(
        SourceError, match=r"features\.ExposureTimeAbs: ExposureTimeAbs = 1000000000\.0 refused"
    ):
        GenicamSource(config, False).open()
    with pytest.raises(SourceError, match=r"features\.NoSuchFeature: .* does not exist"):
        GenicamSource(emulated(tmp_path, features={"NoSuchFeature": 3}), False).open()
    with pytest.raises(SourceError, match=r"roi\.width: Width = 9000 refused"):
        GenicamSource(emulated(tmp_path, roi={"width": 9000, "height": 64}), False).open()


def test_roi_and_trigger_settings_reach_the_camera(tmp_path: Path) -> None:
    boards(tmp_path, 1)
    config = emulated(
        tmp_path, roi={"x": 16, "y": 8, "width": 64, "height": 48}, trigger="software", pixel_format="BGR8"
    )
    source = opened(GenicamSource(config, True))
    try:
        (frame,) = read_frames(source, 1)
        camera = source._camera
        assert camera is not None and camera.get("TriggerSource") == "Software"
    finally:
        source.release()
    image = cv2.imread(str(next(tmp_path.glob("*.png"))))
    assert frame.shape == (48, 64, 3) and np.array_equal(frame, image[8:56, 16:80])


def test_failed_buffers_are_counted_and_never_become_frames(tmp_path: Path) -> None:
    boards(tmp_path, 2)
    source = opened(GenicamSource(emulated(tmp_path, serial=SERIALS[1], trigger="software"), False))
    try:
        read_frames(source, 1)
        camera = source._camera
        assert camera is not None
        camera.set("ForceFailedBufferCount", 2)
        camera.execute("ForceFailedBuffer")
        frames = read_frames(source, 2)  # free run: the failed ones are skipped
        assert all(f.shape == (120, 160, 3) for f in frames)
        assert source.counters()["failed_buffers"] == 2
    finally:
        source.release()


def test_a_failed_buffer_fails_the_triggered_part(tmp_path: Path) -> None:
    boards(tmp_path, 2)
    source = opened(GenicamSource(emulated(tmp_path, serial=SERIALS[1], trigger="software"), True))
    try:
        camera = source._camera
        assert camera is not None
        camera.set("ForceFailedBufferCount", 1)
        camera.execute("ForceFailedBuffer")
        with pytest.raises(BadFrameError, match="camera buffer failed"):
            source.read()
        assert len(read_frames(source, 1)) == 1  # the next trigger is a frame again
        assert source.counters()["failed_buffers"] == 1
    finally:
        source.release()


def test_a_removed_camera_is_lost_then_reopened_by_serial(tmp_path: Path) -> None:
    boards(tmp_path, 2)
    config = emulated(tmp_path, serial=SERIALS[2], trigger="software", reconnect_initial_s=0.05)
    source = GenicamSource(config, True)
    reader = SourceReader("cam0", source, threading.Event(), backoff_initial_s=0.05, backoff_max_s=0.2)
    reader.open()
    try:
        ids = []
        for _ in range(3):
            assert reader.grab(timeout=5.0) is not None
            ids.append(reader.last_stamp.frame_id if reader.last_stamp else None)
        camera = source._camera
        assert camera is not None
        camera.execute("FirePnPCallback")  # the emulator's unplug
        assert reader.grab(timeout=0.01) is None  # no frame invented while it is away
        assert reader.state is SourceState.LOST
        assert reader.grab(timeout=10.0) is not None  # re-enumerated and re-opened by its serial
        stats = reader.stats()
        assert stats.state is SourceState.CONNECTED and stats.reconnects == 1 and stats.frames == 4
        assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
        assert reader.last_stamp is not None and reader.last_stamp.frame_id == ids[0]  # the counter restarted
        assert stats.device["lost_frames"] == 0  # the counter restarted at 0: not a loss
    finally:
        reader.close()


def test_a_line_trigger_is_configured_though_the_emulator_cannot_fire_it(tmp_path: Path) -> None:
    boards(tmp_path, 1)
    line = {"source": "Line1", "edge": "falling", "delay_us": 100.0}
    source = opened(
        GenicamSource(emulated(tmp_path, trigger="line", line_trigger=line, grab_timeout_ms=200), True)
    )
    try:
        camera = source._camera
        assert camera is not None
        assert (camera.get("TriggerMode"), camera.get("TriggerSource")) == ("On", "Line1")
        assert (camera.get("TriggerActivation"), camera.get("TriggerDelay")) == ("FallingEdge", 100.0)
        assert source.read() == (False, None)  # no edge can be made here: the grab times out
        assert source.counters()["timeouts"] == 1
    finally:
        source.release()
    debounced = emulated(tmp_path, trigger="line", line_trigger={**line, "debounce_us": 10.0})
    with pytest.raises(
        SourceError, match=r"line_trigger\.debounce_us: the camera has no writable LineDebouncerTime"
    ):
        GenicamSource(debounced, True).open()  # the emulator has no debouncer node


def test_frames_in_another_format_than_configured_are_refused_by_name(tmp_path: Path) -> None:
    boards(tmp_path, 1, grey=True)
    config = emulated(tmp_path, pixel_format="Mono8", trigger="software", features={"PixelFormat": "Mono12"})
    source = opened(GenicamSource(config, False))
    try:
        with pytest.raises(SourceError, match=r"expected a 2-D uint8 buffer.*\(pixel_format Mono8\)"):
            source.read()
    finally:
        source.release()
