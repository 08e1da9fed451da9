"""What the output stage carries and how it is laid out in 16-bit registers.

Layout (offsets from the configured start addresses; deploy/plc-register-map.md
has the full table): 32-bit values are two registers, high word first; float32
measurements are IEEE 754, high word first (REAL, ABCD order); times are in tenths
of a millisecond, saturating at 65535.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from inspector.messages import FailSafeCause, Verdict, VerdictCode

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF


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


class ResultOffset(IntEnum):
    """Register offsets inside the result block."""

    SEQ = 0
    PART_ID = 1  # 2 registers
    VERDICT = 3
    FIRST_CODE = 4
    DEFECT_COUNT = 5
    INSPECT_TIME = 6
    FLAGS = 7
    OK_COUNT = 8  # 2 registers
    NG_COUNT = 10  # 2 registers
    ERROR_COUNT = 12  # 2 registers
    LAST_MS = 14
    AVG_MS = 15
    MAX_MS = 16
    DROPPED = 17
    MEASUREMENTS = 18  # 2 registers each


class InputOffset(IntEnum):
    """Register offsets inside the PLC-written inputs."""

    TRIGGER = 0
    ACK = 1
    PART_ID = 2  # 2 registers
    HEARTBEAT = 4


@dataclass(frozen=True, slots=True)
class Trigger:
    """One PLC trigger: the part to capture now."""

    part_id: int
    t_trigger: float  # time.monotonic() when the trigger was seen


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One part's result on its way to the PLC (no image: the stage keeps nothing heavy)."""

    seq: int
    part_id: int
    verdict: Verdict
    t_capture: float  # monotonic
    inspect_ms: float  # capture to verdict


@dataclass(frozen=True, slots=True)
class Totals:
    """Counters written into every result block."""

    ok: int = 0
    ng: int = 0
    errors: int = 0
    last_ms: float = 0.0
    avg_ms: float = 0.0
    max_ms: float = 0.0
    dropped: int = 0


def split_u32(value: int) -> tuple[int, int]:
    value &= U32_MAX
    return value >> 16, value & U16_MAX


def join_u32(high: int, low: int) -> int:
    return ((high & U16_MAX) << 16) | (low & U16_MAX)


def tenths_ms(ms: float) -> int:
    if not math.isfinite(ms) or ms <= 0:
        return 0
    return min(U16_MAX, round(ms * 10))


def float_words(value: float) -> tuple[int, int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


def words_float(high: int, low: int) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", high, low))[0])


def encode_result(record: ResultRecord, totals: Totals, flags: ResultFlag, measurements: int) -> list[int]:
    """The result block for one part, ready for one FC16 write."""
    verdict = record.verdict
    block = [
        record.seq & U16_MAX,
        *split_u32(record.part_id),
        int(verdict.code),
        min(U16_MAX, verdict.first_code),
        min(U16_MAX, len(verdict.reasons)),
        tenths_ms(record.inspect_ms),
        int(flags),
        *split_u32(totals.ok),
        *split_u32(totals.ng),
        *split_u32(totals.errors),
        tenths_ms(totals.last_ms),
        tenths_ms(totals.avg_ms),
        tenths_ms(totals.max_ms),
        min(U16_MAX, totals.dropped),
    ]
    values = list(verdict.measurements[:measurements])
    values += [0.0] * (measurements - len(values))
    for value in values:
        block.extend(float_words(value if math.isfinite(value) else 0.0))
    return block


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
    measurements: tuple[float, ...]


def decode_result(block: list[int], measurements: int) -> DecodedResult:
    o = ResultOffset
    meas = tuple(
        words_float(block[o.MEASUREMENTS + 2 * i], block[o.MEASUREMENTS + 2 * i + 1])
        for i in range(measurements)
    )
    return DecodedResult(
        seq=block[o.SEQ],
        part_id=join_u32(block[o.PART_ID], block[o.PART_ID + 1]),
        verdict=VerdictCode(block[o.VERDICT]),
        first_code=block[o.FIRST_CODE],
        defect_count=block[o.DEFECT_COUNT],
        inspect_ms=block[o.INSPECT_TIME] / 10.0,
        flags=ResultFlag(block[o.FLAGS]),
        ok=join_u32(block[o.OK_COUNT], block[o.OK_COUNT + 1]),
        ng=join_u32(block[o.NG_COUNT], block[o.NG_COUNT + 1]),
        errors=join_u32(block[o.ERROR_COUNT], block[o.ERROR_COUNT + 1]),
        last_ms=block[o.LAST_MS] / 10.0,
        avg_ms=block[o.AVG_MS] / 10.0,
        max_ms=block[o.MAX_MS] / 10.0,
        dropped=block[o.DROPPED],
        measurements=meas,
    )


def is_failsafe_code(code: int) -> bool:
    return int(FailSafeCause.DEADLINE) <= code < 920
