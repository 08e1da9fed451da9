"""The genicam source's config, device selection, pixel conversion and missing-driver errors
(no camera stack needed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from inspector.config.checks import check_line
from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError, SourceError, SourceUnavailable
from inspector.sources.genicam import config as genicam_config
from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.convert import to_bgr
from inspector.sources.genicam.driver import DeviceInfo, require, select_device
from inspector.sources.registry import SOURCE_KINDS
from tests.sources.genicam.conftest import mosaic

FOUND = (
    DeviceInfo("40012345", "top", "192.168.10.21", "acA1300-60gm", "BaslerGigE"),
    DeviceInfo("40012346", "side", "192.168.10.22", "acA1300-60gm", "BaslerGigE"),
    DeviceInfo("22334455", "top", "", "a2A1920-160ucBAS", "BaslerUsb"),
)


def test_genicam_is_a_registered_source_kind() -> None:
    assert SOURCE_KINDS["genicam"].config_type is GenicamSourceConfig


def test_unknown_keys_and_out_of_range_values_are_refused_by_key_path() -> None:
    with pytest.raises(ValidationError) as err:
        GenicamSourceConfig.model_validate({"kind": "genicam", "exposure": 100, "gige": {"packet_size": 100}})
    locations = {tuple(e["loc"]) for e in err.value.errors()}
    assert ("exposure",) in locations and ("gige", "packet_size") in locations


def test_features_keep_their_order_and_refuse_bad_names() -> None:
    config = GenicamSourceConfig(kind="genicam", features={"LineSelector": "Line2", "LineMode": "Output"})
    assert list(config.features) == ["LineSelector", "LineMode"]
    with pytest.raises(ValidationError, match="not GenICam feature names"):
        GenicamSourceConfig(kind="genicam", features={"Line Selector": "Line2"})


@pytest.mark.parametrize(
    ("wanted", "serial"), [("40012346", "40012346"), ("side", "40012346"), ("192.168.10.21", "40012345")]
)
def test_a_device_is_found_by_serial_user_name_or_ip(wanted: str, serial: str) -> None:
    assert select_device(FOUND, wanted, "cam0").serial == serial


def test_an_ambiguous_device_is_refused_listing_what_was_found() -> None:
    with pytest.raises(SourceError, match="ambiguous") as err:
        select_device(FOUND, "top", "cam0")
    assert not isinstance(err.value, SourceUnavailable)  # a config problem: retrying cannot help
    assert "40012345" in str(err.value) and "22334455" in str(err.value)
    with pytest.raises(SourceError, match="ambiguous"):
        select_device(FOUND, None, "cam0")  # no device named and more than one camera


def test_a_missing_device_is_retried_and_lists_what_was_found() -> None:
    with pytest.raises(SourceUnavailable, match=r"'40099999' not found; found: .*serial 40012345 'top'"):
        select_device(FOUND, "40099999", "cam0")
    with pytest.raises(SourceUnavailable, match="found: none"):
        select_device((), None, "cam0")


def test_a_missing_driver_is_one_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pypylon" else real(name, *a)
    )
    config = InspectorConfig(sources=[{"kind": "genicam", "id": "top"}])
    with pytest.raises(ConfigError) as err:
        check_line(config, engine_given=True, output_given=True)
    assert err.value.exit_code == 2
    assert err.value.problems == (("sources.0.driver", genicam_config.driver_missing("pylon", "pypylon")),)
    assert "pip install 'inspector[pylon]'" in str(err.value)


def test_requiring_an_absent_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(genicam_config.DRIVER_MODULE, "pylon", "no_such_pylon_module")
    with pytest.raises(SourceError, match=r"pip install 'inspector\[pylon\]'"):
        require("pylon")


def board(path: Path) -> np.ndarray:
    from tests.sources.genicam.conftest import boards

    return cv2.imread(str(boards(path, 1)[0]))


@pytest.mark.parametrize("top_left", ["RG", "BG", "GR", "GB"])
def test_bayer_is_debayered_with_opencvs_name_for_the_genicam_pattern(top_left: str) -> None:
    red = np.zeros((32, 48, 3), np.uint8)
    red[:, :, 2] = 200  # a red scene: the wrong OpenCV code turns it blue or green
    frame = to_bgr(mosaic(red, top_left), f"Bayer{top_left}8")
    assert frame.shape == (32, 48, 3) and frame.flags.c_contiguous
    assert (frame[4:-4, 4:-4] == (0, 0, 200)).all()


def test_mono_10_and_12_bit_keep_their_top_8_bits() -> None:
    words = np.array([[0, 1023, 512, 4]], np.uint16)
    assert to_bgr(words, "Mono10")[0, :, 0].tolist() == [0, 255, 128, 1]
    assert to_bgr(words * 4, "Mono12")[0, :, 0].tolist() == [0, 255, 128, 1]
    assert to_bgr(np.array([[65535]], np.uint16), "Mono12")[0, 0, 0] == 255  # saturates, never wraps


def test_rgb_and_bgr_frames_come_out_bgr_and_owned(tmp_path: Path) -> None:
    image = board(tmp_path)
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    assert np.array_equal(to_bgr(rgb, "RGB8"), image)
    copy = to_bgr(image, "BGR8")
    assert np.array_equal(copy, image) and not np.shares_memory(copy, image)  # the buffer goes back


def test_a_missing_aravis_binding_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gi" else real(n, *a))
    config = InspectorConfig(sources=[{"kind": "genicam", "id": "top", "driver": "aravis"}])
    with pytest.raises(ConfigError, match=r"sources\.0\.driver: .*pip install 'inspector\[aravis\]'"):
        check_line(config, engine_given=True, output_given=True)


def test_a_line_trigger_needs_a_plc_triggered_line() -> None:
    from inspector.sources.genicam.source import GenicamSource

    source = GenicamSource(GenicamSourceConfig(kind="genicam", trigger="line"), triggered=False)
    with pytest.raises(SourceError, match=r"trigger: line needs plc\.mode: triggered"):
        source.open()


class CounterOnly:
    """Just a frame counter's shape: what the accounting reads of a camera."""

    def __init__(self, bits: int, first: int) -> None:
        self.counter_bits, self.counter_first = bits, first


@pytest.mark.parametrize(
    ("bits", "first", "blocks", "skipped", "lost"),
    [
        (16, 1, [65534, 65535, 1, 2], 0, 0),  # GigE Vision 1.x: 65535 wraps to 1, no loss
        (16, 1, [65534, 2], 0, 2),  # 65535 and 1 missing across the wrap
        (64, 0, [7, 8, 11], 0, 2),
        (64, 0, [7, 8, 11], 2, 0),  # grab: latest passed over two on purpose
        (64, 0, [90, 91, 0, 1], 0, 0),  # a restarted acquisition counts from 0 again
    ],
)
def test_counter_gaps_are_lost_frames_wrap_and_skips_aside(
    bits: int, first: int, blocks: list[int], skipped: int, lost: int
) -> None:
    from inspector.sources.genicam.driver import Grab
    from inspector.sources.genicam.source import GenicamSource

    source = GenicamSource(GenicamSourceConfig(kind="genicam"), triggered=False)
    source._camera = CounterOnly(bits, first)  # type: ignore[assignment]
    for i, block in enumerate(blocks):
        source._account(Grab(None, block, 0, skipped=skipped if i == len(blocks) - 1 else 0))
    assert source.counters()["lost_frames"] == lost
