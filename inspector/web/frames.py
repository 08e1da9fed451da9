"""Pictures for the page: drawn and JPEG-encoded on the web's own thread, only while watched.

Each camera has two channels: ``live`` (the inspected part with its overlay) and ``setup`` (the
image as the engine got it, with the commissioning figures). A channel is encoded only while a
viewer holds it, at most ``stream_fps`` times a second, from the newest part handed in; parts in
between are never drawn. Viewers wait on the channel's condition for a newer picture, so a
slow browser skips pictures (counted in ``skipped``) and never holds up the encoder or the line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.archive.picture import overlay_image
from inspector.logging import get_logger
from inspector.messages import FrameMsg
from inspector.web.config import WebConfig
from inspector.web.setup_view import SetupFigures, setup_figures

log = get_logger("web")

LIVE, SETUP = "live", "setup"
# the encoder thread's nice value: when the CPU is short the kernel runs the inspection threads
# first, and the page gets fewer pictures
ENCODER_NICE = 10
KINDS = (LIVE, SETUP)


@dataclass(frozen=True, slots=True)
class Picture:
    """One encoded picture of a channel; ``version`` grows by one per picture."""

    version: int
    jpeg: bytes
    seq: int
    figures: SetupFigures | None = None


def encode_jpeg(image: np.ndarray, quality: int, max_width: int) -> bytes:
    """JPEG bytes of a BGR image, scaled down to ``max_width`` first when wider."""
    height, width = image.shape[:2]
    if width > max_width:
        image = cv2.resize(
            image, (max_width, max(1, round(height * max_width / width))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class Channel:
    """The newest picture of one camera and kind, the viewers holding it, and their condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.picture: Picture | None = None
        self.viewers = 0
        self.encoded_seq = -1
        self.encoded_at = 0.0

    def publish(self, picture: Picture) -> None:
        with self.cond:
            self.picture = picture
            self.cond.notify_all()

    def wait_newer(self, version: int, timeout: float) -> Picture | None:
        """The newest picture when newer than ``version``, after waiting up to ``timeout``."""
        with self.cond:
            if self.picture is None or self.picture.version <= version:
                self.cond.wait(timeout)
            picture = self.picture
        return picture if picture is not None and picture.version > version else None


class LiveEncoder:
    """The web's one worker thread: draws and encodes the watched channels' newest parts."""

    def __init__(
        self,
        config: WebConfig,
        overlay_alpha: float,
        latest: Callable[[str], FrameMsg | None],
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self._tick = tick
        self.alpha = overlay_alpha
        self._latest = latest
        self._channels: dict[tuple[str, str], Channel] = {}
        self._lock = threading.Lock()
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.encoded = 0
        self.errors = 0

    def channel(self, camera: str, kind: str) -> Channel:
        with self._lock:
            return self._channels.setdefault((camera, kind), Channel())

    def viewers(self) -> int:
        with self._lock:
            return sum(c.viewers for c in self._channels.values())

    def hold(self, camera: str, kind: str, delta: int) -> Channel:
        """A viewer starts (+1) or stops (-1) watching a channel; the encoder wakes for it."""
        channel = self.channel(camera, kind)
        with channel.cond:
            channel.viewers += delta
        self.wake.set()
        return channel

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="web-encoder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self.stop_event.set()
        self.wake.set()
        with self._lock:
            channels = list(self._channels.values())
        for channel in channels:  # viewers waiting for a picture leave now
            with channel.cond:
                channel.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:  # Linux: a thread id as the "process" sets that thread's priority only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ENCODER_NICE)
        except (OSError, AttributeError):
            log.info("web_encoder_priority_unchanged")
        period = 1.0 / self.config.stream_fps
        watched: list[tuple[tuple[str, str], Channel]] = []
        while not self.stop_event.is_set():
            self.wake.wait(period if watched else 1.0)  # a new viewer wakes it at once (``hold``)
            self.wake.clear()
            self._tick()
            with self._lock:
                watched = [(key, c) for key, c in self._channels.items() if c.viewers > 0]
            for (camera, kind), channel in watched:
                if self.stop_event.is_set():
                    return
                msg = self._latest(camera)
                now = time.monotonic()
                if msg is None or msg.seq == channel.encoded_seq or now - channel.encoded_at < period * 0.95:
                    continue
                channel.encoded_seq, channel.encoded_at = msg.seq, now
                self._encode(channel, kind, msg)

    def _encode(self, channel: Channel, kind: str, msg: FrameMsg) -> None:
        try:
            figures = setup_figures(msg.image) if kind == SETUP else None
            image = msg.image if kind == SETUP else overlay_image(msg, self.alpha)
            jpeg = encode_jpeg(image, self.config.jpeg_quality, self.config.max_width)
        except Exception as exc:  # a picture that cannot be drawn must not end the page's worker
            self.errors += 1
            log.warning("web_encode_failed", seq=msg.seq, camera=msg.source_id, error=repr(exc))
            return
        version = channel.picture.version + 1 if channel.picture is not None else 1
        channel.publish(Picture(version, jpeg, msg.seq, figures))
        self.encoded += 1
