"""Config of an industrial camera (GigE Vision / USB3 Vision) driven through GenICam features.

Kept free of any driver import: ``inspector check`` loads it without pypylon or Aravis.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from inspector.section import Section
from inspector.sources.common import SourceCommon

PixelFormat = Literal[
    "Mono8", "Mono10", "Mono12", "BayerRG8", "BayerBG8", "BayerGR8", "BayerGB8", "RGB8", "BGR8"
]
AutoMode = Literal["off", "once", "continuous"]
DRIVER_MODULE = {"pylon": "pypylon", "aravis": "gi"}  # what each driver imports, and the extra's name


class SensorRoi(Section):
    """The sensor region read out (GenICam OffsetX/OffsetY/Width/Height, after binning)."""

    x: int = Field(0, ge=0, le=65535, description="Left edge in pixels (OffsetX).")
    y: int = Field(0, ge=0, le=65535, description="Top edge in pixels (OffsetY).")
    width: int = Field(ge=16, le=65535, description="Width in pixels (Width).")
    height: int = Field(ge=16, le=65535, description="Height in pixels (Height).")


class LineTrigger(Section):
    """A hardware trigger wired to a camera input (a light barrier or a PLC output)."""

    source: str = Field(
        "Line1", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$", description="TriggerSource (Line1)."
    )
    edge: Literal["rising", "falling"] = Field("rising", description="TriggerActivation edge.")
    debounce_us: float = Field(
        0.0, ge=0.0, le=1_000_000.0, description="LineDebouncerTime in µs (0 = leave the camera's)."
    )
    delay_us: float = Field(
        0.0, ge=0.0, le=10_000_000.0, description="TriggerDelay in µs from the edge to the exposure."
    )


class GigeTransport(Section):
    """GigE Vision streaming settings (ignored on USB3 cameras); null leaves the camera's value."""

    packet_size: int | None = Field(
        None, ge=576, le=16384, description="GevSCPSPacketSize in bytes (jumbo frames: 8192 or 9000 MTU)."
    )
    inter_packet_delay: int | None = Field(
        None, ge=0, le=1_000_000, description="GevSCPD: ticks between packets (spreads load)."
    )
    heartbeat_ms: int | None = Field(
        None,
        ge=500,
        le=600_000,
        description="GevHeartbeatTimeout: how long the camera keeps control "
        "after the host stops answering (another process can take it after that).",
    )


FeatureValue = bool | int | float | str


class GenicamSourceConfig(SourceCommon):
    """A machine-vision camera through its GenICam driver (Basler pylon or Aravis)."""

    kind: Literal["genicam"] = Field(description="Industrial GenICam camera (GigE Vision / USB3 Vision).")
    driver: Literal["pylon", "aravis"] = Field(
        "pylon", description="pylon: Basler's runtime (pip extra 'pylon'); aravis: Aravis (extra 'aravis')."
    )
    device: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Serial number, user-defined name or IP address; "
        "null = the only camera found (more than one is refused as ambiguous).",
    )
    transport: Literal["any", "gige", "usb3", "emulation"] = Field(
        "any",
        description="Where to look for the camera: any, gige, usb3, or emulation (the driver's "
        "camera emulation; needs no hardware and sends nothing on the network).",
    )
    pixel_format: PixelFormat = Field(
        "Mono8", description="Sensor PixelFormat; the engine gets BGR8 (10/12 bit scaled, Bayer debayered)."
    )
    exposure_us: float | None = Field(
        None, ge=1.0, le=10_000_000.0, description="ExposureTime (or ExposureTimeAbs) in µs; null = camera's."
    )
    exposure_auto: AutoMode = Field("off", description="ExposureAuto: off, once, continuous.")
    gain_db: float | None = Field(
        None, ge=0.0, le=48.0, description="Gain (or GainAbs, or GainRaw as given) in dB; null = camera's."
    )
    gain_auto: AutoMode = Field("off", description="GainAuto: off, once, continuous.")
    roi: SensorRoi | None = Field(None, description="Sensor region of interest; null = the full sensor.")
    binning: int = Field(1, ge=1, le=8, description="BinningHorizontal and BinningVertical (1 = none).")
    buffers: int = Field(8, ge=1, le=256, description="Driver stream buffers (MaxNumBuffer).")
    grab: Literal["latest", "sequential"] = Field(
        "latest",
        description="latest: a free-running read gets the newest frame, older ones are skipped; "
        "sequential: every frame in order. A line trigger always grabs in order.",
    )
    grab_timeout_ms: int = Field(
        1000,
        ge=10,
        le=120_000,
        description="Longest wait for one frame (after a trigger: for its frame); "
        "longer = the camera is lost (triggered: its part is failed safe).",
    )
    trigger: Literal["free_run", "software", "line"] = Field(
        "free_run",
        description="free_run: the camera streams; software: each PLC trigger fires the camera "
        "(once it is ready); line: the camera is fired by its own input (line_trigger).",
    )
    line_trigger: LineTrigger = Field(
        default_factory=LineTrigger, description="The hardware trigger input (trigger: line)."
    )
    gige: GigeTransport = Field(default_factory=GigeTransport, description="GigE Vision stream settings.")
    features: dict[str, FeatureValue] = Field(
        default_factory=dict,
        description="Other GenICam features set by name after the above, in order.",
    )

    @model_validator(mode="after")
    def _feature_names(self) -> GenicamSourceConfig:
        bad = [name for name in self.features if not name.replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"features: {bad} are not GenICam feature names (letters, digits, _)")
        return self

    def environment_problems(self) -> list[tuple[str, str]]:
        """(key, reason) for what this machine lacks to run the source: the driver's package."""
        module = DRIVER_MODULE[self.driver]
        if importlib.util.find_spec(module) is None:
            return [("driver", driver_missing(self.driver, module))]
        if self.driver == "aravis" and not _aravis_typelib():
            return [
                (
                    "driver",
                    "driver aravis needs Aravis 0.8's GObject bindings: apt-get install gir1.2-aravis-0.8",
                )
            ]
        return []


def _aravis_typelib() -> bool:
    """Whether Aravis-0.8.typelib is where GObject introspection looks (without importing gi)."""
    dirs = [*os.environ.get("GI_TYPELIB_PATH", "").split(os.pathsep), "/usr/lib/girepository-1.0"]
    dirs += glob.glob("/usr/lib/*/girepository-1.0") + glob.glob("/usr/local/lib*/girepository-1.0")
    return any(Path(d, "Aravis-0.8.typelib").is_file() for d in dirs if d)


def driver_missing(driver: str, module: str) -> str:
    """The one message for a driver whose package is not installed."""
    extra = f"pip install 'inspector[{driver}]'"
    return f"driver {driver} needs the optional extra: {extra} ({module} is not installed)"
