"""A GenICam camera as a ``FrameSource``: opened by serial, configured, read frame by frame.

Triggered lines call ``read`` once per PLC trigger. With ``trigger: software`` each read
fires the camera itself (in free run: one exposure per frame the line asks for), after the
camera says it is ready for a trigger, never blind: the frame is exposed after the PLC said the
part is in place. With ``trigger: line`` the camera is fired by its own input and the read
takes its frames in order (one per PLC trigger; a counter gap fails the part it lands on).

Frame accounting: the camera's frame counter (BlockID) travels with every buffer; a jump is
counted as lost frames, and in triggered mode it fails the part it lands on (which frame
belongs to which part is no longer certain). A failed or incomplete buffer is counted and never
becomes a frame: in free run the read goes on to the next buffer, in triggered mode the part
is failed safe (``BadFrameError``). A removed device is a lost source; the reader re-opens it
by serial (by its address when `device` is an IP) with its backoff, and the counter restarts at
the new acquisition.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import numpy as np

from inspector.errors import SourceError, SourceUnavailable
from inspector.logging import get_logger
from inspector.sources.base import BadFrameError, DeviceStamp, FrameSource, SourceOptions
from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.configure import ConfigureError, configure
from inspector.sources.genicam.convert import PixelFormatError, to_bgr
from inspector.sources.genicam.driver import Camera, Driver, Grab, is_address, load_driver, select_device

log = get_logger("inspector.sources")

STATS_EVERY_S = 1.0  # how often the driver's stream counters are read (on the capture thread)


class GenicamSource:
    """One GenICam camera. ``driver`` replaces the configured one (tests, simulators)."""

    def __init__(self, config: GenicamSourceConfig, triggered: bool, driver: Driver | None = None) -> None:
        self._config = config
        self._triggered = triggered
        self._driver = driver
        self._camera: Camera | None = None
        self._serial: str | None = None  # the camera found first: re-opened by this serial
        self._last_block: int | None = None
        self.last_stamp: DeviceStamp | None = None  # the last buffer's counter and timestamp
        self._lock = threading.Lock()
        self._counts = {"lost_frames": 0, "skipped_frames": 0, "failed_buffers": 0, "timeouts": 0}
        self._driver_stats: dict[str, int] = {}
        self._stats_t = 0.0
        self._convert: Callable[[np.ndarray], np.ndarray] = lambda view: to_bgr(view, config.pixel_format)

    def open(self) -> None:
        cfg = self._config
        if cfg.trigger == "line" and not self._triggered:
            # idle between parts is normal then, and a read cannot tell it from a dead camera
            raise SourceError(
                f"source {cfg.id}: trigger: line needs plc.mode: triggered (one PLC trigger per part)"
            )
        self.release()
        driver = self._driver or load_driver(cfg.driver)
        self._driver = driver
        # Re-opened by the serial found first, so another camera is never picked up instead; a
        # device given by IP address is re-opened by that address (unicast: discovery by serial
        # would broadcast on the plant network).
        wanted = cfg.device if is_address(cfg.device) else self._serial or cfg.device
        info = select_device(driver.enumerate(cfg.transport, wanted), wanted, cfg.id)
        camera = driver.open(info)
        try:
            configure(camera, cfg)
            latest = cfg.grab == "latest" and cfg.trigger != "line"  # a line trigger's frames are all parts
            camera.start(cfg.buffers, latest_only=latest)
        except ConfigureError as exc:
            camera.close()
            raise SourceError(f"source {cfg.id}: {exc}") from None
        except SourceError:
            camera.close()
            raise
        self._camera, self._serial, self._last_block = camera, info.serial or None, None
        log.info("genicam_opened", source=cfg.id, device=info.describe(), trigger=cfg.trigger)

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.last_stamp = None
        camera = self._camera
        if camera is None:
            return False, None
        if camera.removed():
            raise SourceUnavailable(f"source {self._config.id}: camera {self._serial} was removed")
        deadline = time.monotonic() + self._config.grab_timeout_ms / 1000.0
        while True:
            if self._config.trigger == "software":  # one exposure per read: per PLC trigger, or paced
                self._fire(camera, deadline)
            left_ms = max(1, round((deadline - time.monotonic()) * 1000.0))
            try:
                grab = camera.retrieve(left_ms, self._convert)
            except PixelFormatError as exc:  # the camera sends another format than pixel_format says
                raise SourceError(
                    f"source {self._config.id}: {exc} (pixel_format {self._config.pixel_format})"
                ) from None
            self._refresh_stats(camera)
            if grab is None:
                return self._timed_out(camera)
            lost = self._account(grab)
            self.last_stamp = DeviceStamp(grab.block_id, grab.timestamp or None)  # 0: the device has none
            if not grab.ok:
                self._count("failed_buffers")
                why = grab.error
                log.warning("genicam_failed_buffer", source=self._config.id, block=grab.block_id, error=why)
                if self._triggered:  # the PLC's part: failed safe, the buffer never becomes its frame
                    raise BadFrameError(f"camera buffer failed: {why}", f"block {grab.block_id}")
                if time.monotonic() >= deadline:
                    return False, None
                continue  # free run: on to the next buffer
            if lost and self._triggered:
                raise BadFrameError(f"{lost} camera frame(s) lost before this one", f"block {grab.block_id}")
            return True, grab.image

    def _fire(self, camera: Camera, deadline: float) -> None:
        """Trigger one exposure once the camera accepts it (a trigger fired before is lost)."""
        if not camera.wait_trigger_ready(max(1, round((deadline - time.monotonic()) * 1000.0))):
            raise SourceUnavailable(f"source {self._config.id}: camera not ready for a trigger")
        camera.fire_software_trigger()

    def _timed_out(self, camera: Camera) -> tuple[bool, np.ndarray | None]:
        self._count("timeouts")
        if camera.removed():
            raise SourceUnavailable(f"source {self._config.id}: camera {self._serial} was removed")
        log.warning("genicam_grab_timeout", source=self._config.id, timeout_ms=self._config.grab_timeout_ms)
        return False, None

    def _account(self, grab: Grab) -> int:
        """Frames the counter skipped since the previous buffer (wrap-aware; 0 for the first)."""
        assert self._camera is not None
        last, self._last_block = self._last_block, grab.block_id
        if last is None:
            return 0
        first = self._camera.counter_first
        modulus = (1 << self._camera.counter_bits) - first  # the counter's values: first .. 2**bits - 1
        gap = ((grab.block_id - first) - (last - first) - 1) % modulus
        if gap >= modulus // 2:  # a jump backwards (a restarted counter) is no loss
            return 0
        self._count("skipped_frames", min(gap, grab.skipped))
        lost = max(0, gap - grab.skipped)  # grab: latest passes over frames on purpose
        if lost:
            self._count("lost_frames", lost)
            log.warning("genicam_frames_lost", source=self._config.id, lost=lost, block=grab.block_id)
            return lost
        return 0

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _refresh_stats(self, camera: Camera) -> None:
        now = time.monotonic()
        if now - self._stats_t >= STATS_EVERY_S:
            self._stats_t = now
            stats = dict(camera.statistics())
            with self._lock:
                self._driver_stats = stats

    def counters(self) -> Mapping[str, int]:
        """Lost frames, failed buffers, grab timeouts and the driver's stream counters (any thread)."""
        with self._lock:
            return {**self._counts, **self._driver_stats}

    def release(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            self._stats_t = 0.0
            self._refresh_stats(camera)  # the final driver counters stay readable
            camera.close()

    @property
    def ended(self) -> bool:
        return False  # a camera never ends; a lost one is re-opened


def build(config: GenicamSourceConfig, options: SourceOptions) -> FrameSource:
    """The camera (or the stand-in device)."""
    return options.device or GenicamSource(config, options.triggered)
