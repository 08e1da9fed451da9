"""pylon's camera emulation for the genicam tests.

Only the emulation transport layer is ever enumerated (``transport: emulation``): enumerating
all of pylon's transports broadcasts a GigE discovery packet on the real network. pypylon is a
dev dependency; where it is missing the tests skip naming it (and fail under CI=true).
``no_discovery_broadcast`` (autouse) makes that rule a check: a test that reaches a driver's
broadcasting discovery (pylon's GigE or all transports, Aravis' device list beyond its in-library
fake interface, an Aravis address off loopback) fails before the packet is sent.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.source import GenicamSource

os.environ.setdefault("PYLON_CAMEMU", "3")  # read when pylon starts: three emulated cameras
SERIALS = ("0815-0000", "0815-0001", "0815-0002")


def _guard(driver: Any, allowed: Callable[[str, str | None], bool], what: str) -> Callable[..., Any]:
    enumerate_devices = driver.enumerate

    def guarded(self: Any, transport: str, wanted: str | None) -> Any:
        if not allowed(transport, wanted):
            pytest.fail(f"{what} discovery would broadcast (transport {transport}, device {wanted!r})")
        return enumerate_devices(self, transport, wanted)

    return guarded


def _aravis_is_loopback(transport: str, wanted: str | None) -> bool:
    import ipaddress

    if transport == "emulation":
        return True
    try:
        return ipaddress.ip_address(wanted or "").is_loopback  # opened by address: unicast
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_discovery_broadcast(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("pypylon") is not None:
        from inspector.sources.genicam.pylon import PylonDriver

        pylon_safe = _guard(PylonDriver, lambda transport, _: transport in ("emulation", "usb3"), "pylon")
        monkeypatch.setattr(PylonDriver, "enumerate", pylon_safe)
    try:
        from inspector.sources.genicam.aravis import AravisDriver
    except (ImportError, ValueError):  # no gi, or no Aravis typelib: the Aravis tests skip
        return
    monkeypatch.setattr(AravisDriver, "enumerate", _guard(AravisDriver, _aravis_is_loopback, "Aravis"))


def require_pypylon() -> None:
    if importlib.util.find_spec("pypylon") is not None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail("pypylon is not installed but CI is set: '.[dev]' must bring it", pytrace=False)
    pytest.skip("pypylon is not installed (pip install 'inspector[pylon]')")


@pytest.fixture
def pylon() -> None:
    require_pypylon()


def read_frames(source: GenicamSource, count: int) -> list[np.ndarray]:
    """``count`` frames read one by one; each read must give a frame."""
    frames = []
    for _ in range(count):
        ok, frame = source.read()
        assert ok and frame is not None
        frames.append(frame)
    return frames


def boards(folder: Path, count: int, size: tuple[int, int] = (160, 120), grey: bool = False) -> list[Path]:
    """``count`` synthetic PCB boards as PNG files, in name order (what the emulator serves)."""
    from inspector.sources.synthetic import pcb_scene

    folder.mkdir(parents=True, exist_ok=True)
    scene = pcb_scene(size[0], size[1], seed=3)
    paths = []
    for i in range(count):
        image = scene(i)
        path = folder / f"board_{i:03d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if grey else image)
        paths.append(path)
    return paths


def emulated(folder: Path, serial: str = SERIALS[0], **overrides: Any) -> GenicamSourceConfig:
    """An emulated camera serving the images in ``folder`` (in name order, looping)."""
    features = {"TestImageSelector": "Off", "ImageFileMode": "On", "ImageFilename": str(folder)}
    features.update(overrides.pop("features", {}))
    entry = {
        "kind": "genicam",
        "id": "cam0",
        "device": serial,
        "transport": "emulation",
        "features": features,
    }
    return GenicamSourceConfig.model_validate({**entry, **overrides})


def mosaic(image: np.ndarray, top_left: str) -> np.ndarray:
    """The Bayer mosaic a sensor with ``top_left`` 2x2 ('RG': R G / G B) records of a BGR image."""
    channel = {"B": 0, "G": 1, "R": 2}
    pattern = {"RG": ("RG", "GB"), "BG": ("BG", "GR"), "GR": ("GR", "BG"), "GB": ("GB", "RG")}[top_left]
    out = np.empty(image.shape[:2], np.uint8)
    for dy in (0, 1):
        for dx in (0, 1):
            out[dy::2, dx::2] = image[dy::2, dx::2, channel[pattern[dy][dx]]]
    return out


MakeConfig = Callable[..., GenicamSourceConfig]
