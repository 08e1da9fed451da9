"""Basler pylon (``pypylon``) behind the driver interface. Imported only when a source uses it.

Enumerating every transport layer broadcasts a GigE discovery packet: ``transport`` narrows it
(``emulation`` enumerates pylon's camera emulation alone and sends nothing on the network).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from pypylon import genicam, pylon  # the optional extra: this module is imported lazily

from inspector.errors import SourceUnavailable
from inspector.logging import get_logger
from inspector.sources.genicam.config import FeatureValue
from inspector.sources.genicam.driver import Convert, DeviceInfo, FeatureError, Grab

log = get_logger("inspector.sources")
TRANSPORT_LAYERS = {"gige": "BaslerGigE", "usb3": "BaslerUsb", "emulation": "BaslerCamEmu"}
STREAM_COUNTERS = {  # pylon stream grabber statistics -> the names the stats event uses
    "failed_buffers_driver": "Statistic_Failed_Buffer_Count",
    "buffer_underruns": "Statistic_Buffer_Underrun_Count",
    "missing_packets": "Statistic_Total_Packet_Count_Missing",  # GigE only
    "resend_requests": "Statistic_Resend_Request_Count",  # GigE only
}


def _short(exc: Exception) -> str:
    """GenICam's message without its 'thrown in node ... (file ..., line ...)' tail."""
    return str(exc).split(" : ", 1)[0].strip()


def _info(device: Any) -> DeviceInfo:
    ip = device.GetIpAddress() if device.IsIpAddressAvailable() else ""
    return DeviceInfo(
        serial=device.GetSerialNumber(),
        user_name=device.GetUserDefinedName() if device.IsUserDefinedNameAvailable() else "",
        ip=ip,
        model=device.GetModelName(),
        transport=device.GetDeviceClass(),
    )


class PylonDriver:
    name = "pylon"

    def __init__(self) -> None:
        self._devices: dict[str, tuple[Any, Any]] = {}  # serial -> (transport layer, pylon device info)

    def _layer(self, transport: str) -> Any:
        factory = pylon.TlFactory.GetInstance()
        return factory if transport == "any" else factory.CreateTl(TRANSPORT_LAYERS[transport])

    def enumerate(self, transport: str, wanted: str | None) -> Sequence[DeviceInfo]:
        layer = self._layer(transport)
        if layer is None:
            return []
        found = list(layer.EnumerateDevices())
        self._devices = {d.GetSerialNumber(): (layer, d) for d in found}
        return [_info(d) for d in found]

    def open(self, info: DeviceInfo) -> PylonCamera:
        layer, device = self._devices[info.serial]
        try:
            camera = pylon.InstantCamera(layer.CreateDevice(device))
            camera.Open()
        except genicam.GenericException as exc:  # in use by another host, gone since enumeration
            raise SourceUnavailable(f"cannot open {info.describe()}: {exc}") from None
        return PylonCamera(camera, info)


class PylonCamera:
    counter_bits = 64  # BlockID is 64-bit on GigE Vision 2 and USB3 Vision (pylon extends GEV1's 16 bits)
    counter_first = 0

    def __init__(self, camera: Any, info: DeviceInfo) -> None:
        self._camera = camera
        self.info = info

    def _node(self, name: str) -> Any:
        """The parameter, or None where the camera has no such feature."""
        try:
            node = self._camera.GetNodeMap().GetNode(name)
        except genicam.GenericException as exc:
            raise FeatureError(f"{name}: {exc}") from None
        return node if node is not None and node.IsValid() else None

    def has(self, name: str) -> bool:
        node = self._node(name)
        return node is not None and bool(genicam.IsWritable(node))

    def is_command(self, name: str) -> bool:
        return isinstance(self._node(name), pylon.CommandParameter)

    def get(self, name: str) -> FeatureValue:
        node = self._node(name)
        if node is None or not genicam.IsReadable(node):
            raise FeatureError(f"feature {name} cannot be read on {self.info.describe()}")
        return node.GetValue()  # type: ignore[no-any-return]

    def set(self, name: str, value: FeatureValue) -> None:
        node = self._node(name)
        if node is None:
            raise FeatureError(f"feature {name} does not exist on {self.info.describe()}")
        if not genicam.IsWritable(node):
            raise FeatureError(f"feature {name} is not writable now")
        try:
            if isinstance(value, str | bool) or isinstance(node, pylon.EnumParameter):
                node.FromString(("true" if value else "false") if isinstance(value, bool) else str(value))
            else:
                node.SetValue(value)
        except genicam.GenericException as exc:
            raise FeatureError(_short(exc)) from None

    def execute(self, name: str) -> None:
        if not self.is_command(name):
            raise FeatureError(f"feature {name} is not a command on {self.info.describe()}")
        try:
            self._node(name).Execute()
        except genicam.GenericException as exc:
            raise FeatureError(_short(exc)) from None

    def start(self, buffers: int, latest_only: bool) -> None:
        strategy = pylon.GrabStrategy_LatestImageOnly if latest_only else pylon.GrabStrategy_OneByOne
        with self._device("start grabbing"):
            self._camera.MaxNumBuffer.Value = buffers
            self._camera.StartGrabbing(strategy)

    def wait_trigger_ready(self, timeout_ms: int) -> bool:
        with self._device("wait for trigger ready"):
            return bool(self._camera.WaitForFrameTriggerReady(timeout_ms, pylon.TimeoutHandling_Return))

    def fire_software_trigger(self) -> None:
        with self._device("software trigger"):
            self._camera.ExecuteSoftwareTrigger()

    @contextmanager
    def _device(self, what: str) -> Iterator[None]:
        """A pylon error while talking to the device (gone, unplugged) is a lost source."""
        try:
            yield
        except genicam.GenericException as exc:
            raise SourceUnavailable(f"{what} on {self.info.describe()}: {_short(exc)}") from None

    def retrieve(self, timeout_ms: int, convert: Convert) -> Grab | None:
        with self._device("retrieve"):
            result = self._camera.RetrieveResult(timeout_ms, pylon.TimeoutHandling_Return)
        if result is None or not result.IsValid():
            return None
        try:
            block, stamp = int(result.BlockID), int(result.TimeStamp)
            skipped = int(result.GetNumberOfSkippedImages())  # LatestImageOnly's, not losses
            if not result.GrabSucceeded():
                why = f"{result.GetErrorDescription()} (code {result.GetErrorCode():#x})"
                return Grab(None, block, stamp, why, skipped)
            with result.GetArrayZeroCopy() as view:  # the driver's buffer: converted, never kept
                return Grab(convert(np.asarray(view)), block, stamp, "", skipped)
        finally:
            result.Release()

    def removed(self) -> bool:
        with self._device("removal check"):
            return bool(self._camera.IsCameraDeviceRemoved())

    def statistics(self) -> Mapping[str, int]:
        counts = {}
        try:
            nodes = self._camera.GetStreamGrabberNodeMap()
            for key, name in STREAM_COUNTERS.items():
                node = nodes.GetNode(name)
                if node is not None and genicam.IsReadable(node):
                    counts[key] = int(node.GetValue())
        except genicam.GenericException:
            pass  # a device going away: the counters read so far stand, the next read retries
        return counts

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            if camera.IsGrabbing():
                camera.StopGrabbing()
            camera.Close()
        except genicam.GenericException:
            pass  # a removed device refuses even this; destroying it below frees it all the same
        try:
            camera.DestroyDevice()
        except genicam.GenericException as exc:
            log.warning("genicam_close_failed", device=self.info.describe(), error=_short(exc))
