"""Write a source's config into an opened camera, feature by feature, in a fixed order.

Each failure names the feature and the value. Names follow SFNC first and fall back to what
older (GigE Vision 1.x era) cameras call them: ExposureTime → ExposureTimeAbs → ExposureTimeRaw
(in ticks of ExposureTimeBaseAbs), Gain → GainAbs. A camera that has only GainRaw counts in
its own units, which no dB figure converts to: it is refused with the hint to set GainRaw under
``features``.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspector.errors import SourceError
from inspector.sources.genicam.config import FeatureValue, GenicamSourceConfig
from inspector.sources.genicam.driver import Camera, FeatureError

PIXEL_FORMAT_NAMES = {"RGB8": ("RGB8", "RGB8Packed"), "BGR8": ("BGR8", "BGR8Packed")}  # SFNC, pylon legacy
AUTO = {"off": "Off", "once": "Once", "continuous": "Continuous"}
EDGE = {"rising": "RisingEdge", "falling": "FallingEdge"}


class ConfigureError(SourceError):
    """The camera refused a configured feature value; restarting does not help."""


def first_writable(camera: Camera, names: Sequence[str]) -> str | None:
    return next((name for name in names if camera.has(name)), None)


def set_one(camera: Camera, key: str, names: Sequence[str], value: FeatureValue) -> None:
    """Write ``value`` into the first of ``names`` the camera has; ``key`` is the config's name."""
    name = first_writable(camera, names)
    if name is None:
        raise ConfigureError(f"{key}: the camera has no writable {' / '.join(names)} (value {value!r})")
    try:
        camera.set(name, value)
    except FeatureError as exc:
        raise ConfigureError(f"{key}: {name} = {value!r} refused: {exc}") from None


def configure(camera: Camera, config: GenicamSourceConfig) -> None:
    """Everything the config names, in an order cameras accept (format and size before offsets,
    auto modes before manual values, the trigger last but for the user's own ``features``)."""
    formats = PIXEL_FORMAT_NAMES.get(config.pixel_format, (config.pixel_format,))
    _set_enum(camera, "pixel_format", "PixelFormat", formats)
    if config.binning > 1:
        set_one(camera, "binning", ("BinningHorizontal",), config.binning)
        set_one(camera, "binning", ("BinningVertical",), config.binning)
    if config.roi is not None:
        for name in ("OffsetX", "OffsetY"):  # to 0 first: the new size may not fit the old offset
            if camera.has(name):
                camera.set(name, 0)
        set_one(camera, "roi.width", ("Width",), config.roi.width)
        set_one(camera, "roi.height", ("Height",), config.roi.height)
        set_one(camera, "roi.x", ("OffsetX",), config.roi.x)
        set_one(camera, "roi.y", ("OffsetY",), config.roi.y)
    _exposure_and_gain(camera, config)
    _gige(camera, config)
    _trigger(camera, config)
    for name, value in config.features.items():
        _feature(camera, name, value)


def _feature(camera: Camera, name: str, value: FeatureValue) -> None:
    """One entry of ``features``: a value written, or a command run (``Name: true``)."""
    try:
        if not camera.is_command(name):
            camera.set(name, value)
        elif value is True:
            camera.execute(name)
        else:
            raise FeatureError(f"{name} is a command: give it true to run it")
    except FeatureError as exc:
        raise ConfigureError(f"features.{name}: {name} = {value!r} refused: {exc}") from None


def _set_enum(camera: Camera, key: str, feature: str, entries: Sequence[str]) -> None:
    """An enumeration feature set to the first entry the camera accepts."""
    errors = []
    for entry in entries:
        try:
            camera.set(feature, entry)
            return
        except FeatureError as exc:
            errors.append(str(exc))
    raise ConfigureError(f"{key}: {feature} = {' / '.join(entries)} refused: {errors[-1]}")


def _exposure_and_gain(camera: Camera, config: GenicamSourceConfig) -> None:
    if camera.has("ExposureAuto") or config.exposure_auto != "off":
        set_one(camera, "exposure_auto", ("ExposureAuto",), AUTO[config.exposure_auto])
    if config.exposure_us is not None:
        modern = first_writable(camera, ("ExposureTime", "ExposureTimeAbs"))
        if modern is None and camera.has("ExposureTimeRaw"):
            base = camera.get("ExposureTimeBaseAbs") if camera.has("ExposureTimeBaseAbs") else 1.0
            set_one(camera, "exposure_us", ("ExposureTimeRaw",), round(config.exposure_us / float(base)))
        else:
            set_one(camera, "exposure_us", ("ExposureTime", "ExposureTimeAbs"), config.exposure_us)
    if camera.has("GainAuto") or config.gain_auto != "off":
        set_one(camera, "gain_auto", ("GainAuto",), AUTO[config.gain_auto])
    if config.gain_db is not None:
        if first_writable(camera, ("Gain", "GainAbs")) is None and camera.has("GainRaw"):
            raise ConfigureError(
                "gain_db: the camera has only GainRaw, in its own units (not dB): "
                "leave gain_db null and set features: {GainRaw: N}"
            )
        set_one(camera, "gain_db", ("Gain", "GainAbs"), config.gain_db)


def _gige(camera: Camera, config: GenicamSourceConfig) -> None:
    """GigE stream settings; a USB3 camera has none of these nodes and is left alone."""
    gige = config.gige
    for key, feature, value in (
        ("gige.packet_size", "GevSCPSPacketSize", gige.packet_size),
        ("gige.inter_packet_delay", "GevSCPD", gige.inter_packet_delay),
        ("gige.heartbeat_ms", "GevHeartbeatTimeout", gige.heartbeat_ms),
    ):
        if value is not None and camera.has(feature):
            set_one(camera, key, (feature,), value)


def _trigger(camera: Camera, config: GenicamSourceConfig) -> None:
    if not camera.has("TriggerSelector"):
        if config.trigger != "free_run":
            raise ConfigureError(f"trigger: {config.trigger} needs TriggerSelector, which the camera lacks")
        return
    set_one(camera, "trigger", ("TriggerSelector",), "FrameStart")
    if config.trigger == "free_run":
        set_one(camera, "trigger", ("TriggerMode",), "Off")
        return
    set_one(camera, "trigger", ("TriggerMode",), "On")
    if config.trigger == "software":
        set_one(camera, "trigger", ("TriggerSource",), "Software")
        return
    line = config.line_trigger
    set_one(camera, "line_trigger.source", ("TriggerSource",), line.source)
    set_one(camera, "line_trigger.edge", ("TriggerActivation",), EDGE[line.edge])
    if line.delay_us or camera.has("TriggerDelay") or camera.has("TriggerDelayAbs"):
        set_one(camera, "line_trigger.delay_us", ("TriggerDelay", "TriggerDelayAbs"), line.delay_us)
    if line.debounce_us:
        set_one(camera, "line_trigger.source", ("LineSelector",), line.source)  # the debouncer is per line
        debouncer = ("LineDebouncerTime", "LineDebouncerTimeAbs")
        set_one(camera, "line_trigger.debounce_us", debouncer, line.debounce_us)
