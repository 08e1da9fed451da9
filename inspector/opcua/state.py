"""What the OPC UA server shows and drives, in the server's own terms: the vision system's state,
one part's result, and the recipe book it selects from. Plain values and Protocols, no asyncua:
the composition root adapts the line's health and recipes to them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from inspector.messages import FrameMsg, VerdictCode


class VisionState(Enum):
    """The OPC 40100 VisionStateMachine's states (value: the state's BrowseName); the four
    Operational ones are the AutomaticModeStateMachine's sub-states."""

    PREOPERATIONAL = "Preoperational"  # starting: model loading, cameras opening
    READY = "Ready"  # operational, waiting for the next triggered part
    SINGLE_EXECUTION = "SingleExecution"  # operational, inspecting a triggered part
    CONTINUOUS_EXECUTION = "ContinuousExecution"  # operational, free run
    ERROR = "Error"  # health failing
    HALTED = "Halted"  # stopping or stopped

    @property
    def top(self) -> str:
        """The VisionStateMachine's state: Preoperational, Operational, Error or Halted."""
        return "Operational" if self in OPERATIONAL else self.value


OPERATIONAL = frozenset({VisionState.READY, VisionState.SINGLE_EXECUTION, VisionState.CONTINUOUS_EXECUTION})


@dataclass(frozen=True, slots=True)
class LineState:
    """The line now, as the state machine shows it: the state and the health summary behind it."""

    state: VisionState
    health: str = ""  # e.g. "ok: 6 components ok", "failing: camera failing (cam0 lost)"


StateSource = Callable[[], LineState]


class RecipeLike(Protocol):
    """One recipe as a list shows it (``inspector.app.interfaces.RecipeEntry``)."""

    @property
    def number(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...


class RecipeBook(Protocol):
    """The line's product changeover (``inspector.app.interfaces.RecipeControl``): ``request``
    raises ``inspector.errors.UnknownRecipe`` for a number no recipe has; the switch takes
    effect between parts."""

    def recipes(self) -> Sequence[RecipeLike]: ...

    @property
    def active(self) -> RecipeLike: ...

    def request(self, number: int, origin: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PartResult:
    """One part's result as the server publishes it: what the FrameMsg said, without the image."""

    seq: int
    camera: str
    part_id: int | None
    verdict: str  # PASS, REJECT, ALARM, NONE
    code: int  # the verdict's value as the PLC gets it (1 pass, 2 reject, 3 alarm)
    first_code: int  # the first failing rule's code (900+: failed safe)
    failsafe: bool
    measurements: tuple[float, ...]
    recipe: int
    timestamp: float  # wall-clock time of the capture (seconds since the epoch)

    @property
    def result_id(self) -> str:
        """Unique while the process runs: the line's frame counter names the frame."""
        return f"{self.camera}-{self.seq}"

    @classmethod
    def of(cls, msg: FrameMsg) -> PartResult:
        """The result of ``msg``; a part without a verdict is shown as NONE, never as passed."""
        verdict = msg.verdict
        code = verdict.code if verdict is not None else VerdictCode.NONE
        captured = time.time() - max(0.0, time.monotonic() - msg.t_capture)
        return cls(
            seq=msg.seq,
            camera=msg.source_id,
            part_id=msg.part_id,
            verdict=code.name,
            code=int(code),
            first_code=verdict.first_code if verdict is not None else 0,
            failsafe=verdict.failsafe if verdict is not None else True,
            measurements=tuple(float(m) for m in verdict.measurements) if verdict is not None else (),
            recipe=msg.recipe,
            timestamp=captured,
        )
