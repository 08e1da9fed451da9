"""Messages passed between pipeline stages: frozen dataclasses with named fields.

One ``FrameMsg`` travels the whole line; each stage returns a copy with its own
result filled in (``dataclasses.replace``), so a message never changes under a
stage that still holds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch


class VerdictCode(IntEnum):
    """Overall verdict of one part; the values are what the PLC receives."""

    NONE = 0
    PASS = 1
    REJECT = 2
    ALARM = 3


class FailSafeCause(IntEnum):
    """Why a part got no real verdict. Codes 900+ are reserved; rule codes stay below."""

    DEADLINE = 900
    FRAME_DROPPED = 901
    CAMERA_LOST = 902
    ENGINE_ERROR = 903
    RULES_ERROR = 904
    SHUTDOWN = 905
    TRIGGER_OVERRUN = 906
    OUT_OF_MEMORY = 907
    PLC_BUFFER_OVERRUN = 908
    BAD_IMAGE = 909  # the source read a frame that cannot be inspected (a corrupt or unusable file)
    UNKNOWN_RECIPE = 910  # the PLC triggered the part with a recipe number no recipe has


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a verdict: which rule, about which instance, measured vs limit."""

    rule: str
    code: int
    message: str = ""
    instance: int | None = None
    value: float | None = None
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A part's verdict with its reasons and a few measurements for the PLC block."""

    code: VerdictCode
    reasons: tuple[Reason, ...] = ()
    measurements: tuple[float, ...] = ()
    failsafe: bool = False

    @property
    def first_code(self) -> int:
        """Code of the first failing rule (0 when none); the PLC's 'failing tool' register."""
        return self.reasons[0].code if self.reasons else 0


def failsafe_verdict(cause: FailSafeCause, message: str, code: VerdictCode = VerdictCode.REJECT) -> Verdict:
    """A verdict for a part that could not be inspected: rejected (or alarmed), never passed."""
    reason = Reason(rule=f"failsafe.{cause.name.lower()}", code=int(cause), message=message)
    return Verdict(code=code, reasons=(reason,), failsafe=True)


@dataclass(frozen=True, eq=False)
class Detections:
    """Instances found in one frame by the segmentation engine.

    Tensors stay on the engine's device so later stages can measure masks there.
    """

    boxes: torch.Tensor  # (N, 4) float32, xyxy in original image pixels
    scores: torch.Tensor  # (N,) float32
    class_ids: torch.Tensor  # (N,) int64
    masks: torch.Tensor  # (N, H, W) bool at the original image resolution
    names: tuple[str, ...]  # class names indexed by class id
    timings_ms: tuple[tuple[str, float], ...] = ()

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.masks.shape[-2]), int(self.masks.shape[-1])


@dataclass(frozen=True, eq=False)
class FrameMsg:
    """One captured frame and everything learned about it so far."""

    seq: int
    source_id: str
    t_capture: float  # time.monotonic() at capture
    image: np.ndarray  # BGR uint8, H x W x 3
    part_id: int | None = None
    timings_ms: tuple[tuple[str, float], ...] = ()
    detections: Detections | None = None
    verdict: Verdict | None = None
    # the camera's own view of the frame, where it keeps one (an industrial camera): its frame
    # counter (GenICam BlockID / GigE Vision frame_id) and its tick timestamp, both as reported
    device_frame_id: int | None = None
    device_timestamp: int | None = None
    # the recipe (product) the part is judged by: its number, 0 for the config's base settings
    recipe: int = 0
    # the network's output waiting for post-processing (``runtime.postprocess_stage``): what makes
    # ``detections`` in the post-processing stage; None everywhere else
    pending: PendingDetections | None = None

    def device_fields(self) -> dict[str, int]:
        """The camera's frame counter and timestamp for a log event or a record: only those present."""
        fields = {"device_frame_id": self.device_frame_id, "device_timestamp": self.device_timestamp}
        return {name: value for name, value in fields.items() if value is not None}

    def with_timing(self, stage: str, ms: float, **changes: object) -> FrameMsg:
        """A copy with one more stage timing and the given fields replaced."""
        timings = (*self.timings_ms, (stage, ms))
        return dataclasses.replace(self, timings_ms=timings, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class PendingDetections:
    """A frame's network output and the engine call that turns it into its ``Detections``."""

    finish: Callable[[], Detections]


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """End marker a stage pushes downstream when it stops."""

    stage: str
