"""What the output stage carries to the PLC: status bits, result flags, error codes, records.

The register layout (which field goes where, how it is encoded) is ``registers.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from inspector.messages import Verdict, VerdictCode
from inspector.plc.registers import RESULT, decode, encode
from inspector.plc.stats import PlcCounters


class StatusBit(IntFlag):
    """Bits of the status word (register ``status + 0``)."""

    ONLINE = 1 << 0
    BUSY = 1 << 1
    FAULT = 1 << 2
    DEGRADED = 1 << 3
    CAMERA_LOST = 1 << 4
    MODEL_LOADED = 1 << 5
    RESULT_VALID = 1 << 6
    OVERRUN = 1 << 7
    PLC_HEARTBEAT_LOST = 1 << 8
    RECIPE_REFUSED = 1 << 9  # the recipe request names no recipe; the active one stays


# Flags settable from outside through PlcOutput.set_status(**flags).
EXTERNAL_FLAGS = {
    "online": StatusBit.ONLINE,
    "busy": StatusBit.BUSY,
    "fault": StatusBit.FAULT,
    "degraded": StatusBit.DEGRADED,
    "camera_lost": StatusBit.CAMERA_LOST,
    "model_loaded": StatusBit.MODEL_LOADED,
}


class ResultFlag(IntFlag):
    """Bits of the result block's flags register (``result + 7``)."""

    FAILSAFE = 1 << 0  # no real verdict: the reason code says why
    LATE = 1 << 1  # delivered after its pulse window; no pulse was fired
    OVERRUN = 1 << 2  # results were dropped before this one (buffer full)


class PlcErrorCode(IntEnum):
    """Codes of the error register (``status + 2``) beyond the fail-safe causes (900..919)."""

    NONE = 0
    ACK_TIMEOUT = 920
    ACK_RELEASE_TIMEOUT = 921
    PLC_HEARTBEAT_LOST = 922
    RESULT_LATE = 923
    PULSE_FAILED = 924
    LINK_DOWN = 925  # set on reconnecting when no other error is pending: results held meanwhile follow
    TRIGGER_RELEASE_TIMEOUT = 926  # the PLC held the trigger high past trigger_release_timeout_ms
    UNKNOWN_RECIPE = 927  # the recipe request names no recipe: stays until it names one


FAILSAFE_CAUSES = range(900, 920)  # error-register codes that say a part was not inspected


def is_failsafe_cause(code: int) -> bool:
    return code in FAILSAFE_CAUSES


@dataclass(frozen=True, slots=True)
class Trigger:
    """One PLC trigger: the part to capture now."""

    part_id: int
    t_trigger: float  # time.monotonic() when the trigger was seen
    recipe: int | None = None  # the recipe the part is to be judged by (active when triggered)


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One part's result on its way to the PLC (no image: the stage keeps nothing heavy)."""

    seq: int
    part_id: int
    verdict: Verdict
    t_capture: float  # monotonic
    inspect_ms: float  # capture to verdict
    recipe: int = 0  # the recipe the part was judged by


@dataclass(frozen=True, slots=True)
class DecodedResult:
    """A result block read back (used by the simulator and tests)."""

    seq: int
    part_id: int
    verdict: VerdictCode
    first_code: int
    defect_count: int
    inspect_ms: float
    flags: ResultFlag
    ok: int
    ng: int
    errors: int
    last_ms: float
    avg_ms: float
    max_ms: float
    dropped: int
    recipe: int
    measurements: tuple[float, ...]


def encode_result(
    record: ResultRecord, counters: PlcCounters, flags: ResultFlag, measurements: int
) -> list[int]:
    """The result block for one part, ready for one FC16 write."""
    verdict = record.verdict
    values = {
        "seq": record.seq,
        "part_id": record.part_id,
        "verdict": int(verdict.code),
        "first_code": verdict.first_code,
        "defect_count": len(verdict.reasons),
        "inspect_ms": record.inspect_ms,
        "flags": int(flags),
        "ok": counters.ok,
        "ng": counters.ng,
        "errors": counters.errors,
        "last_ms": counters.last_ms,
        "avg_ms": counters.avg_ms,
        "max_ms": counters.max_ms,
        "dropped": counters.dropped,
        "recipe": record.recipe,
        "measurements": verdict.measurements,
    }
    return encode(RESULT, values, measurements)


def decode_result(block: list[int], measurements: int) -> DecodedResult:
    values = decode(RESULT, block, measurements)
    values["verdict"] = VerdictCode(values["verdict"])
    values["flags"] = ResultFlag(values["flags"])
    return DecodedResult(**values)
