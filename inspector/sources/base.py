"""The frame-source interface, shaped like OpenCV's ``VideoCapture``.

A source is opened, read frame by frame with ``read() -> (ok, frame)`` and
released. ``read`` returning ``(False, None)`` means either the natural end of a
finite source (``ended`` is then true) or a failure worth a reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from inspector.errors import SourceError


@runtime_checkable
class FrameSource(Protocol):
    """A camera, a video file, an image folder or a generator."""

    def open(self) -> None:
        """Open (or reopen) the source; raises SourceUnavailable (retry) or SourceError (fatal)."""

    def read(self) -> tuple[bool, np.ndarray | None]:
        """The next BGR uint8 frame, or (False, None) on failure or at the end."""

    def release(self) -> None:
        """Close the source; safe to call twice."""

    @property
    def ended(self) -> bool:
        """True once a finite source has produced its last frame."""


class BadFrameError(SourceError):
    """The source read a frame that cannot be inspected (a corrupt, empty or unusable image file).

    Not a lost source: it stays open, and the frame is a part, failed safe with this reason
    (``FailSafeCause.BAD_IMAGE``), never skipped and never passed."""

    def __init__(self, reason: str, origin: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.origin = origin  # where the frame came from (a file path)


@dataclass(frozen=True, slots=True)
class DeviceStamp:
    """What a camera reports with the frame it just gave (a source's optional ``last_stamp``):
    its frame counter and its tick timestamp, None where the device gives none."""

    frame_id: int | None = None
    timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How the line uses a source, beyond its config entry."""

    triggered: bool = False  # PLC-triggered capture: a frame must arrive after the trigger
    device: FrameSource | None = None  # stands in for the hardware (tests, simulators)


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """A frame as contiguous H×W×3 uint8 BGR (grey and BGRA are converted)."""
    if frame.dtype != np.uint8:
        raise ValueError(f"frame dtype {frame.dtype} is not uint8")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    elif frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame shape {frame.shape} is not H×W×3")
    return np.ascontiguousarray(frame)
