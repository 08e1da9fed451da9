"""Aravis (GObject bindings, ``gi``) behind the driver interface. Imported only when a source uses it.

Aravis' device discovery broadcasts on every interface: a device given as an IP address is
opened by that address instead (unicast), and ``transport`` narrows discovery to one interface
(``emulation``: Aravis' in-library fake camera, no network at all).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import gi
import numpy as np

from inspector.errors import SourceUnavailable
from inspector.logging import get_logger
from inspector.sources.genicam.config import FeatureValue
from inspector.sources.genicam.driver import Convert, DeviceInfo, FeatureError, Grab, is_address

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis, GLib  # noqa: E402  # the version must be chosen before the import

log = get_logger("inspector.sources")
INTERFACES: dict[str, tuple[str, ...]] = {
    "any": ("GigEVision", "USB3Vision"),
    "gige": ("GigEVision",),
    "usb3": ("USB3Vision",),
    "emulation": ("Fake",),
}
STREAM_COUNTERS = {
    "failed_buffers_driver": "n_failures",
    "buffer_underruns": "n_underruns",
    "missing_packets": "n_missing_packets",
    "resend_requests": "n_resend_requests",
}
WRITABLE = (Aravis.GcAccessMode.RW, Aravis.GcAccessMode.WO)
POLL_S = 0.001  # trigger-ready polling step


def _open(handle: str) -> Any:
    try:
        return Aravis.Camera.new(handle)
    except GLib.Error as exc:
        raise SourceUnavailable(f"cannot open camera {handle}: {exc.message}") from None


def _info(camera: Any, handle: str, transport: str) -> DeviceInfo:
    serial = camera.get_device_serial_number() or ""
    ip = handle if is_address(handle) else ""
    return DeviceInfo(serial, "", ip, camera.get_model_name() or "", transport, handle)


class AravisDriver:
    name = "aravis"

    def __init__(self) -> None:
        self._opened: dict[str, Any] = {}  # handle -> camera opened while enumerating by address

    def enumerate(self, transport: str, wanted: str | None) -> Sequence[DeviceInfo]:
        if is_address(wanted) and transport in ("any", "gige"):
            assert wanted is not None
            try:
                camera = _open(wanted)
            except SourceUnavailable:
                return []
            self._opened[wanted] = camera
            return [_info(camera, wanted, "GigEVision")]
        for name in ("GigEVision", "USB3Vision", "Fake"):
            (Aravis.enable_interface if name in INTERFACES[transport] else Aravis.disable_interface)(name)
        Aravis.update_device_list()
        return [
            DeviceInfo(
                Aravis.get_device_serial_nbr(i) or "",
                "",
                Aravis.get_device_address(i) or "",
                Aravis.get_device_model(i) or "",
                Aravis.get_device_protocol(i) or "",
                Aravis.get_device_id(i),
            )
            for i in range(Aravis.get_n_devices())
        ]

    def open(self, info: DeviceInfo) -> AravisCamera:
        handle = info.handle or info.serial
        camera = self._opened.pop(handle, None) or _open(handle)
        device = camera.get_device()
        if isinstance(device, Aravis.GvDevice) and not device.is_controller():
            raise SourceUnavailable(
                f"{info.describe()} is controlled by another application; retried until its heartbeat "
                "expires (the other application must stop, or wait gige.heartbeat_ms after it crashed)"
            )
        return AravisCamera(camera, info)


class AravisCamera:
    counter_bits = 16  # GigE Vision 1.x frame_id: 1 .. 65535, then 1 again
    counter_first = 1

    def __init__(self, camera: Any, info: DeviceInfo) -> None:
        self._camera = camera
        self._device = camera.get_device()
        self.info = info
        self._stream: Any = None
        self._latest_only = False
        self._lost = threading.Event()  # set by Aravis' heartbeat thread on control-lost
        self._device.connect("control-lost", lambda *_: self._lost.set())

    def _node(self, name: str) -> Any:
        node = self._device.get_feature(name)
        return node if node is not None and node.is_available() else None

    def has(self, name: str) -> bool:
        node = self._node(name)
        return node is not None and node.get_actual_access_mode() in WRITABLE

    def is_command(self, name: str) -> bool:
        return isinstance(self._node(name), Aravis.GcCommand)

    def get(self, name: str) -> FeatureValue:
        node = self._node(name)
        if node is None:
            raise FeatureError(f"feature {name} does not exist on {self.info.describe()}")
        try:
            if isinstance(node, Aravis.GcFloatNode):
                return float(self._camera.get_float(name))
            if isinstance(node, Aravis.GcIntegerNode):
                return int(self._camera.get_integer(name))
            if isinstance(node, Aravis.GcBoolean):
                return bool(self._camera.get_boolean(name))
            return str(self._camera.get_string(name))
        except GLib.Error as exc:
            raise FeatureError(exc.message) from None

    def set(self, name: str, value: FeatureValue) -> None:
        node = self._node(name)
        if node is None:
            raise FeatureError(f"feature {name} does not exist on {self.info.describe()}")
        if node.get_actual_access_mode() not in WRITABLE:
            raise FeatureError(f"feature {name} is not writable now")
        try:
            if isinstance(node, Aravis.GcFloatNode) and not isinstance(value, str | bool):
                self._camera.set_float(name, float(value))
            elif (
                isinstance(node, Aravis.GcIntegerNode)
                and isinstance(value, int)
                and not isinstance(value, bool)
            ):
                self._camera.set_integer(name, value)
            elif isinstance(node, Aravis.GcBoolean) and isinstance(value, bool):
                self._camera.set_boolean(name, value)
            else:
                node.set_value_from_string(str(value))
        except GLib.Error as exc:
            raise FeatureError(exc.message) from None

    def execute(self, name: str) -> None:
        if not self.is_command(name):
            raise FeatureError(f"feature {name} is not a command on {self.info.describe()}")
        try:
            self._camera.execute_command(name)
        except GLib.Error as exc:
            raise FeatureError(exc.message) from None

    def start(self, buffers: int, latest_only: bool) -> None:
        try:
            stream = self._camera.create_stream(None, None)
            payload = self._camera.get_payload()
            for _ in range(buffers):
                stream.push_buffer(Aravis.Buffer.new_allocate(payload))
            self._camera.set_acquisition_mode(Aravis.AcquisitionMode.CONTINUOUS)
            self._camera.start_acquisition()
        except GLib.Error as exc:
            raise SourceUnavailable(f"start acquisition on {self.info.describe()}: {exc.message}") from None
        self._stream, self._latest_only = stream, latest_only

    def wait_trigger_ready(self, timeout_ms: int) -> bool:
        """SFNC's AcquisitionStatus(FrameTriggerWait) where the camera has it; a camera without it
        cannot be asked and is taken as ready."""
        if self._node("AcquisitionStatusSelector") is None:
            return True
        deadline = time.monotonic() + timeout_ms / 1000.0
        try:
            self._camera.set_string("AcquisitionStatusSelector", "FrameTriggerWait")
            while not self._camera.get_boolean("AcquisitionStatus"):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S)
        except GLib.Error as exc:
            raise SourceUnavailable(f"trigger-ready check on {self.info.describe()}: {exc.message}") from None
        return True

    def fire_software_trigger(self) -> None:
        try:
            self._camera.software_trigger()
        except GLib.Error as exc:
            raise SourceUnavailable(f"software trigger on {self.info.describe()}: {exc.message}") from None

    def retrieve(self, timeout_ms: int, convert: Convert) -> Grab | None:
        buffer = self._stream.timeout_pop_buffer(timeout_ms * 1000)
        if buffer is None:
            return None
        skipped = 0
        if self._latest_only:  # skip to the newest buffer waiting, the older ones go back
            while (newer := self._stream.try_pop_buffer()) is not None:
                self._stream.push_buffer(buffer)
                buffer, skipped = newer, skipped + 1
        try:
            block, stamp = int(buffer.get_frame_id()), int(buffer.get_timestamp())
            status = buffer.get_status()
            if status != Aravis.BufferStatus.SUCCESS:
                return Grab(None, block, stamp, f"buffer status {status.value_nick}", skipped)
            return Grab(convert(_view(buffer)), block, stamp, "", skipped)
        finally:
            self._stream.push_buffer(buffer)

    def removed(self) -> bool:
        return self._lost.is_set()

    def statistics(self) -> Mapping[str, int]:
        if self._stream is None:
            return {}
        return {key: int(self._stream.get_info_uint64_by_name(name)) for key, name in STREAM_COUNTERS.items()}

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            camera.stop_acquisition()
        except GLib.Error as exc:
            log.debug("genicam_stop_failed", device=self.info.describe(), error=exc.message)
        self._stream = self._device = None  # the last references: Aravis joins its stream thread


def _view(buffer: Any) -> np.ndarray:
    """The frame as an array: 1 byte per pixel (mono, Bayer), 2 (10..16-bit mono), 3 (RGB)."""
    width, height = buffer.get_image_width(), buffer.get_image_height()
    data = buffer.get_data()
    depth = len(data) // max(1, width * height)
    if depth == 2:
        return np.frombuffer(data, np.uint16, width * height).reshape(height, width)
    flat = np.frombuffer(data, np.uint8, width * height * depth)
    return flat.reshape(height, width, 3) if depth == 3 else flat.reshape(height, width)
