"""The PLC register layout, defined once: one table of fields per area.

The tables drive the encoding of what the daemon writes (status words, result blocks), the
decoding of what it reads (the PLC's inputs; the simulator reads result blocks back), the
area lengths the config checks, and the generated tables in ``deploy/plc-register-map.md``
(``inspector.plc.register_doc`` writes them).

Words are unsigned 16-bit; 32-bit values are two registers, high word first; float32
measurements are IEEE 754, high word first (REAL, ABCD order); times are in tenths of a
millisecond, saturating at 65535.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF


class Encoding(str, Enum):
    """How one field's value becomes registers (the value is the 'type' column of the map)."""

    WORD = "WORD (bits)"  # a bit field, one register
    UINT = "UINT"  # unsigned 16-bit, saturating
    UDINT = "UDINT"  # unsigned 32-bit in two registers, high word first, wrapping like a PLC counter
    TENTHS_MS = "UINT, 0.1 ms"  # a time in ms, written in tenths of a millisecond, saturating
    REALS = "REAL × n"  # n float32 values, two registers each, high word first; n set by the config

    @property
    def length(self) -> int:
        """Registers per value."""
        return 2 if self in (Encoding.UDINT, Encoding.REALS) else 1


@dataclass(frozen=True, slots=True)
class RegisterField:
    """One field of an area: its key, offset from the area's start, encoding, and documentation."""

    key: str
    offset: int
    encoding: Encoding
    label: str
    meaning: str

    @property
    def length(self) -> int:
        """Registers of one value (a REALS field holds ``n`` such values)."""
        return self.encoding.length


@dataclass(frozen=True, slots=True)
class RegisterArea:
    """A contiguous run of holding registers starting at ``plc.registers.<config_key>``."""

    config_key: str
    default_start: int
    fields: tuple[RegisterField, ...]

    @property
    def fixed_length(self) -> int:
        """Registers before a variable-length (REALS) tail; the whole area when there is none."""
        return sum(f.length for f in self.fields if f.encoding is not Encoding.REALS)

    def length(self, reals: int = 0) -> int:
        """Registers of the area with ``reals`` float32 values in its REALS field."""
        tail = sum(2 * reals for f in self.fields if f.encoding is Encoding.REALS)
        return self.fixed_length + tail

    def field(self, key: str) -> RegisterField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"no field {key!r} in register area {self.config_key}")

    def offset(self, key: str) -> int:
        return self.field(key).offset


def _area(config_key: str, default_start: int, *rows: tuple[str, Encoding, str, str]) -> RegisterArea:
    """An area from its rows in register order: offsets follow from the lengths (no gaps)."""
    fields, offset = [], 0
    for key, encoding, label, meaning in rows:
        fields.append(RegisterField(key, offset, encoding, label, meaning))
        offset += encoding.length
    if any(f.encoding is Encoding.REALS for f in fields[:-1]):
        raise ValueError(f"{config_key}: only the last field may be REAL × n")
    return RegisterArea(config_key, default_start, tuple(fields))


STATUS = _area(
    "status",
    0,
    (
        "status_word",
        Encoding.WORD,
        "status word",
        "bit 0 online · 1 busy (trigger seen / inspecting) · 2 fault (health failing: a stage stalled "
        "or died, the engine or model unusable — do not trust verdicts) · 3 degraded (health "
        "degraded, or the engine runs on CPU with `engine.device: auto`: no usable GPU) · 4 camera "
        "lost · 5 model loaded · 6 result valid · 7 result buffer overrun · 8 PLC heartbeat lost · "
        "9 recipe refused (the *recipe request* names no recipe; the active one stays)",
    ),
    (
        "heartbeat",
        Encoding.UINT,
        "heartbeat",
        "+1 every `heartbeat.period_ms` (default 200 ms) **only while the daemon is healthy**; "
        "frozen = do not trust the vision system",
    ),
    (
        "error_code",
        Encoding.UINT,
        "error code",
        "the error now (0 = none; codes below the table). A fail-safe cause (900–919) stays until "
        "the next on-time, non-fail-safe result; 922 stays while the PLC heartbeat is lost; 927 "
        "while the *recipe request* names no recipe",
    ),
    (
        "recipe",
        Encoding.UINT,
        "recipe acknowledge",
        "the recipe parts are judged by from now on (0 = the base settings): equal to the *recipe "
        "request* once the switch is made, the old number while the request is refused (927)",
    ),
)

RESULT = _area(
    "result",
    10,
    (
        "seq",
        Encoding.UINT,
        "sequence",
        "1, 2, … 65535, 1, … per result; 0 = no result yet. A change means a new result (free-run); "
        "a repeat is the same result written again after a reconnect",
    ),
    (
        "part_id",
        Encoding.UDINT,
        "part id",
        "the PLC's part id echoed (triggered), or the daemon's frame/part number (free-run)",
    ),
    ("verdict", Encoding.UINT, "verdict", "1 PASS · 2 REJECT · 3 ALARM (0 = none)"),
    (
        "first_code",
        Encoding.UINT,
        "first code",
        "code of the first failing rule (1–899), or the fail-safe cause (900+), 0 when passed",
    ),
    ("defect_count", Encoding.UINT, "defect count", "number of reasons behind the verdict"),
    ("inspect_ms", Encoding.TENTHS_MS, "inspection time", "capture → verdict for this part"),
    (
        "flags",
        Encoding.WORD,
        "flags",
        "bit 0 fail-safe (no real verdict; see first code) · bit 1 late (delivered after its pulse "
        "window, no pulse fired) · bit 2 overrun (results were dropped since the previous block)",
    ),
    ("ok", Encoding.UDINT, "OK count", "parts passed since start"),
    ("ng", Encoding.UDINT, "NG count", "parts rejected/alarmed by the rules"),
    (
        "errors",
        Encoding.UDINT,
        "error count",
        "parts failed safe (no verdict in time, camera lost, engine error, …)",
    ),
    ("last_ms", Encoding.TENTHS_MS, "last inspection", "inspection time of the last inspected part"),
    ("avg_ms", Encoding.TENTHS_MS, "average inspection", "since start"),
    ("max_ms", Encoding.TENTHS_MS, "max inspection", "since start"),
    ("dropped", Encoding.UINT, "dropped", "results dropped because the buffer was full"),
    ("recipe", Encoding.UINT, "recipe", "the recipe this part was judged by (the one active at its capture)"),
    (
        "measurements",
        Encoding.REALS,
        "measurements",
        "the verdict's first `measurements` values (default 4), 0.0 when absent",
    ),
)

PLC_INPUTS = _area(
    "plc_inputs",
    40,
    (
        "trigger",
        Encoding.UINT,
        "trigger",
        "0 → 1 starts one inspection (triggered mode); drop it to 0 once *busy* is seen",
    ),
    (
        "ack",
        Encoding.UINT,
        "ack",
        "1 = result read (triggered mode); drop it to 0 once *result valid* is cleared",
    ),
    ("part_id", Encoding.UDINT, "part id", "write it together with, or before, the trigger"),
    (
        "heartbeat",
        Encoding.UINT,
        "PLC heartbeat",
        "change it at least every `heartbeat.plc_timeout_ms` (default 1000 ms; 0 = not watched); "
        "when it stalls the daemon logs `plc.heartbeat_stalled`, sets status bit 8 and error 922",
    ),
    (
        "recipe",
        Encoding.UINT,
        "recipe request",
        "the recipe to inspect with (0 = the base settings). A change switches before the next "
        "captured part; parts already captured finish under the old recipe. Triggered: write it "
        "with, or before, the trigger; that part is judged by it. An unknown number: error 927 and "
        "status bit 9, the old recipe stays (a trigger with it is failed safe, 910)",
    ),
)

AREAS = (STATUS, RESULT, PLC_INPUTS)


# Word conversions ------------------------------------------------------------------------------


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


def _encode_field(encoding: Encoding, value: Any, reals: int) -> list[int]:
    if encoding is Encoding.UDINT:
        return list(split_u32(int(value)))
    if encoding is Encoding.TENTHS_MS:
        return [tenths_ms(float(value))]
    if encoding is Encoding.REALS:
        values = [float(v) for v in tuple(value)[:reals]]
        values += [0.0] * (reals - len(values))
        return [word for v in values for word in float_words(v if math.isfinite(v) else 0.0)]
    return [min(U16_MAX, max(0, int(value)))]


def encode(area: RegisterArea, values: Mapping[str, Any], reals: int = 0) -> list[int]:
    """The area's registers, in order, from one value per field key (ready for one FC16 write)."""
    block: list[int] = []
    for f in area.fields:
        block += _encode_field(f.encoding, values[f.key], reals)
    return block


def decode(area: RegisterArea, block: Sequence[int], reals: int = 0) -> dict[str, Any]:
    """One value per field key from the area's registers (times in ms, REALS as a tuple)."""
    if len(block) < area.length(reals):
        raise ValueError(f"{area.config_key}: {len(block)} registers, {area.length(reals)} needed")
    values: dict[str, Any] = {}
    for f in area.fields:
        at = f.offset
        if f.encoding is Encoding.UDINT:
            values[f.key] = join_u32(block[at], block[at + 1])
        elif f.encoding is Encoding.TENTHS_MS:
            values[f.key] = block[at] / 10.0
        elif f.encoding is Encoding.REALS:
            values[f.key] = tuple(words_float(block[at + 2 * i], block[at + 2 * i + 1]) for i in range(reals))
        else:
            values[f.key] = block[at]
    return values
