"""The small interface a GenICam driver offers the source, shaped like pylon's and Aravis' own.

A driver enumerates devices on a transport and opens one; a camera sets features by name,
grabs into driver buffers and hands each buffer to a ``convert`` callback before releasing it
(so a frame is converted straight out of the driver's memory, and the buffer goes back at once).
"""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

import numpy as np

from inspector.errors import SourceError, SourceUnavailable
from inspector.sources.genicam.config import DRIVER_MODULE, FeatureValue, driver_missing

Convert = Callable[[np.ndarray], np.ndarray]  # a view of the driver's buffer -> a new BGR uint8 frame


def is_address(text: str | None) -> bool:
    """Whether ``device`` names an IP address (opened by unicast, without discovery)."""
    try:
        ipaddress.ip_address(text or "")
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A camera as enumeration lists it (before it is opened)."""

    serial: str
    user_name: str = ""
    ip: str = ""
    model: str = ""
    transport: str = ""
    handle: str = ""  # how the driver opens it (a device id or an address); the serial where empty

    def matches(self, wanted: str) -> bool:
        return wanted in (self.serial, self.user_name, self.ip)

    def describe(self) -> str:
        named = f" '{self.user_name}'" if self.user_name else ""
        at = f" at {self.ip}" if self.ip else ""
        return f"{self.model or 'camera'} serial {self.serial}{named}{at} ({self.transport})"


@dataclass(frozen=True, slots=True)
class Grab:
    """One retrieved buffer: a converted frame, or a failed/incomplete one (``image`` None)."""

    image: np.ndarray | None
    block_id: int  # the camera's frame counter (BlockID / frame_id)
    timestamp: int  # the camera's tick counter (0 where the device has none)
    error: str = ""  # why the buffer failed
    skipped: int = 0  # newer-frame grabbing: frames passed over on purpose just before this one

    @property
    def ok(self) -> bool:
        return self.image is not None


class FeatureError(SourceError):
    """A GenICam feature that does not exist, is not writable, or refused the value."""


class Camera(Protocol):
    """An opened camera."""

    info: DeviceInfo
    counter_bits: int  # width of the frame counter (it wraps after 2**bits - 1)
    counter_first: int  # the counter's first value after a wrap (GigE Vision 1.x skips 0)

    def has(self, name: str) -> bool:
        """Whether the feature exists and can be written now."""

    def get(self, name: str) -> FeatureValue:
        """Read a feature; raises FeatureError."""

    def set(self, name: str, value: FeatureValue) -> None:
        """Write a feature (enumeration entries and numbers alike); raises FeatureError."""

    def is_command(self, name: str) -> bool:
        """Whether the feature is a command (run by ``execute``, not written)."""

    def execute(self, name: str) -> None:
        """Run a command feature; raises FeatureError."""

    def start(self, buffers: int, latest_only: bool) -> None:
        """Allocate ``buffers`` and start acquiring (latest_only: keep only the newest frame)."""

    def wait_trigger_ready(self, timeout_ms: int) -> bool:
        """Wait until the camera accepts a frame trigger; False on timeout."""

    def fire_software_trigger(self) -> None:
        """Trigger one frame."""

    def retrieve(self, timeout_ms: int, convert: Convert) -> Grab | None:
        """The next buffer, converted; None when none came within ``timeout_ms``."""

    def removed(self) -> bool:
        """Whether the device is gone (unplugged, cable pulled, control lost)."""

    def statistics(self) -> Mapping[str, int]:
        """The driver's stream counters (failed buffers, missing packets, resends, underruns)."""

    def close(self) -> None:
        """Stop acquiring and give the device back; safe to call twice."""


class Driver(Protocol):
    """A camera stack (pylon, Aravis)."""

    name: str

    def enumerate(self, transport: str, wanted: str | None) -> Sequence[DeviceInfo]:
        """Devices on ``transport`` (any, gige, usb3, emulation). ``wanted`` (the configured device)
        lets a driver narrow the search: an IP address is asked directly, not by broadcast."""

    def open(self, info: DeviceInfo) -> Camera:
        """Open one enumerated device; SourceUnavailable when it is busy or gone."""


def require(driver: str) -> ModuleType:
    """The driver's Python package, or one SourceError naming the extra to install."""
    module = DRIVER_MODULE[driver]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SourceError(driver_missing(driver, module)) from None


def load_driver(driver: str) -> Driver:
    """The driver named in the config."""
    require(driver)
    if driver == "pylon":
        from inspector.sources.genicam.pylon import PylonDriver

        return PylonDriver()
    try:
        from inspector.sources.genicam.aravis import AravisDriver
    except (ImportError, ValueError) as exc:  # PyGObject without the Aravis typelib
        raise SourceError(
            f"driver aravis needs Aravis 0.8's GObject bindings (apt gir1.2-aravis-0.8): {exc}"
        ) from None
    return AravisDriver()


def select_device(found: Sequence[DeviceInfo], wanted: str | None, source_id: str) -> DeviceInfo:
    """The one device ``wanted`` names (serial, user-defined name or IP; None: the only device).
    None found: SourceUnavailable (it may come on later); more than one: SourceError, listing them."""
    listing = "; ".join(d.describe() for d in found) or "none"
    matches = [d for d in found if wanted is None or d.matches(wanted)]
    what = f"camera {wanted!r}" if wanted else "a camera"
    if not matches:
        raise SourceUnavailable(f"source {source_id}: {what} not found; found: {listing}")
    if len(matches) > 1:
        raise SourceError(
            f"source {source_id}: {what} is ambiguous ({len(matches)} match); found: {listing}; "
            "set device to a serial number"
        )
    return matches[0]
