"""Config section for the PLC link: transport, register map, handshake, pulses, fail-safe.

Addresses are 0-based Modbus protocol addresses (holding registers for words, coils
for bits). PLC manuals often number holding registers from 40001: add 40001 to get
that form. The full table is in ``deploy/plc-register-map.md``.
"""

from __future__ import annotations

import itertools
from enum import Enum

from pydantic import Field, model_validator

from inspector.messages import VerdictCode
from inspector.plc.registers import PLC_INPUTS, RESULT, STATUS
from inspector.section import Section

# Area lengths in 16-bit registers, from the one layout table (registers.py).
STATUS_LEN = STATUS.length()  # status word, heartbeat counter, error code, recipe acknowledge
RESULT_FIXED_LEN = RESULT.fixed_length  # result block before the float32 measurements
PLC_INPUTS_LEN = PLC_INPUTS.length()  # trigger, ack, part id (2), PLC heartbeat, recipe request
MAX_MEASUREMENTS = 32
ADDRESS_SPACE = 0x10000  # Modbus addresses 0..65535
FAILSAFE_GRACE_MAX_MS = 500


class PlcRole(str, Enum):
    """Who opens the Modbus connection."""

    OFF = "off"  # no PLC: verdicts are counted and logged only
    CLIENT = "client"  # the daemon writes into the PLC (the PLC is the Modbus server)
    SERVER = "server"  # the daemon serves the block; the PLC polls it


class PlcMode(str, Enum):
    """How parts reach the daemon."""

    FREE_RUN = "free_run"  # every inspected frame is a part; results are pushed as they come
    TRIGGERED = "triggered"  # the PLC triggers each part with a part id and acks each result


class Transport(str, Enum):
    """Modbus transport used in client role."""

    TCP = "tcp"
    RTU = "rtu"  # RTU over a serial line (needs pyserial)
    RTU_OVER_TCP = "rtu_over_tcp"  # RTU framing through a TCP serial gateway


class FailSafeAction(str, Enum):
    """What a part without a verdict becomes."""

    REJECT = "reject"
    ALARM = "alarm"


class SerialConfig(Section):
    """Serial line for RTU."""

    port: str = Field("/dev/ttyUSB0", min_length=1, description="Serial device path.")
    baudrate: int = Field(19200, ge=1200, le=921600, description="Baud rate.")
    parity: str = Field("E", pattern="^[NEO]$", description="Parity: N, E or O (Modbus default E).")
    stopbits: int = Field(1, ge=1, le=2, description="Stop bits.")
    bytesize: int = Field(8, ge=7, le=8, description="Data bits.")


class ServerConfig(Section):
    """Where the daemon listens in server role."""

    host: str = Field(
        "127.0.0.1", min_length=1, description="Interface address to bind (the machine's PLC-side NIC)."
    )
    port: int = Field(5020, ge=0, le=65535, description="TCP port to serve on (0 picks a free one).")


class RegisterMap(Section):
    """Start addresses of each area; lengths are fixed (see deploy/plc-register-map.md)."""

    status: int = Field(
        STATUS.default_start,
        ge=0,
        le=ADDRESS_SPACE - STATUS_LEN,
        description="Status word, then heartbeat counter, error code and recipe acknowledge "
        f"({STATUS_LEN} registers).",
    )
    result: int = Field(
        RESULT.default_start,
        ge=0,
        le=ADDRESS_SPACE - RESULT_FIXED_LEN,
        description="Result block with statistics and measurements "
        f"({RESULT_FIXED_LEN} + 2 x measurements registers).",
    )
    measurements: int = Field(
        4, ge=0, le=MAX_MEASUREMENTS, description="How many float32 measurements the result block carries."
    )
    plc_inputs: int = Field(
        PLC_INPUTS.default_start,
        ge=0,
        le=ADDRESS_SPACE - PLC_INPUTS_LEN,
        description=f"Registers the PLC writes ({PLC_INPUTS_LEN}): trigger, ack, part id (2 words), "
        "PLC heartbeat, recipe request.",
    )
    reject_coil: int = Field(0, ge=0, le=65535, description="Coil pulsed for a rejected part.")
    alarm_coil: int = Field(1, ge=0, le=65535, description="Coil pulsed for an alarmed part.")

    @property
    def result_len(self) -> int:
        return RESULT.length(self.measurements)

    def areas(self) -> list[tuple[str, int, int]]:
        """(config key, start, length) of each register area, in address order."""
        return sorted(
            [
                ("status", self.status, STATUS_LEN),
                ("result", self.result, self.result_len),
                ("plc_inputs", self.plc_inputs, PLC_INPUTS_LEN),
            ],
            key=lambda a: a[1],
        )

    @property
    def end(self) -> int:
        """One past the highest register of the map."""
        return max(start + length for _, start, length in self.areas())

    @model_validator(mode="after")
    def _areas_fit_and_do_not_overlap(self) -> RegisterMap:
        areas = self.areas()
        for (name_a, start_a, len_a), (name_b, start_b, _) in itertools.pairwise(areas):
            if start_a + len_a > start_b:
                raise ValueError(f"register areas {name_a} and {name_b} overlap")
        name, start, length = areas[-1]
        if start + length > ADDRESS_SPACE:
            raise ValueError(f"register area {name} ends past register {ADDRESS_SPACE - 1}")
        if self.reject_coil == self.alarm_coil:
            raise ValueError("reject_coil and alarm_coil must differ")
        return self


class PulseConfig(Section):
    """Coil pulses for rejected and alarmed parts."""

    enabled: bool = Field(True, description="Pulse the reject/alarm coils (off: the PLC actuates itself).")
    reject_ms: int = Field(50, ge=1, le=10000, description="Reject pulse width.")
    alarm_ms: int = Field(500, ge=1, le=60000, description="Alarm pulse width.")
    delay_ms: int = Field(
        0,
        ge=0,
        le=60000,
        description="Pulse start after the part's capture (camera-to-gate travel time); 0 = at once.",
    )
    late_ms: int = Field(
        100,
        ge=1,
        le=600000,
        description="Window after a pulse's due time (capture + delay_ms) in which it may still start. "
        "A result written later is 'late': block only, flagged late, error 923, no pulse (on a "
        "conveyor it would hit another part), counted in the late stats. A fail-safe result (900+) "
        "may still pulse up to min(late_ms, 500 ms) past the window (rejecting a neighbour is the "
        "safe side of passing a part nobody inspected) and keeps its code in the error register; "
        "a pulse that cannot be "
        "switched on within the window is not fired (error 924). In free run, capture + delay_ms + "
        "late_ms is also the verdict deadline: a part without a verdict then is failed safe (code "
        "900) and a later verdict dropped. Keep it below the time between parts at the gate. The "
        "default suits a GPU line; a CPU line (~150-250 ms end to end) needs a larger window and "
        "delay_ms, or the PLC actuating from the result block (enabled: false, late_ms covering "
        "the inspection).",
    )

    @property
    def window_ms(self) -> int:
        """A part's pulse window after its capture (delay_ms + late_ms): the latest a pulse may
        start, and in free run the verdict deadline."""
        return self.delay_ms + self.late_ms

    @property
    def failsafe_grace_ms(self) -> int:
        """How long past the window a fail-safe result may still start its pulse: one more late_ms,
        at most FAILSAFE_GRACE_MAX_MS. A fail-safe must never be weaker than a rule reject."""
        return min(self.late_ms, FAILSAFE_GRACE_MAX_MS)

    @property
    def failsafe_window_ms(self) -> int:
        """The latest a fail-safe result's pulse may start, after the part's capture."""
        return self.window_ms + self.failsafe_grace_ms


class HandshakeConfig(Section):
    """Triggered mode: trigger, busy, result-valid, ack, and the result buffer."""

    poll_ms: int = Field(5, ge=1, le=1000, description="How often the PLC inputs are read.")
    inspect_timeout_ms: int = Field(
        2000, ge=10, le=60000, description="Trigger to verdict; past it the part is failed safe."
    )
    ack_timeout_ms: int = Field(
        1000, ge=10, le=60000, description="Result-valid to PLC ack; past it the error code is set."
    )
    ack_release_timeout_ms: int = Field(
        1000, ge=10, le=60000, description="PLC must drop ack within this after result-valid clears."
    )
    trigger_release_timeout_ms: int = Field(
        1000,
        ge=10,
        le=60000,
        description="PLC must drop the trigger within this after raising it; past it error 926 is set "
        "(busy stays up, so no further part can be triggered until it does).",
    )
    buffer_depth: int = Field(
        8, ge=1, le=64, description="Results held while the PLC has not acked; beyond it: overrun."
    )


class HeartbeatConfig(Section):
    """Both directions of liveness."""

    period_ms: int = Field(
        200, ge=10, le=10000, description="Heartbeat counter increment period (only while healthy)."
    )
    plc_timeout_ms: int = Field(
        1000,
        ge=0,
        le=600000,
        description="Alarm (status bit 8, error 922, health degraded) when the PLC heartbeat register "
        "has not changed for this long; 0 = not watched. Watched by default: a PLC that stopped "
        "scanning still holds its last trigger and ack, and only its heartbeat tells.",
    )


class FailSafeConfig(Section):
    """Policy for parts without a real verdict."""

    action: FailSafeAction = Field(
        FailSafeAction.REJECT, description="reject (default, safe) or alarm; a part is never passed."
    )

    @property
    def verdict_code(self) -> VerdictCode:
        return VerdictCode.REJECT if self.action is FailSafeAction.REJECT else VerdictCode.ALARM


class PlcConfig(Section):
    """PLC link over Modbus: role, transport, register map, handshake, pulses and fail-safe."""

    role: PlcRole = Field(PlcRole.OFF, description="off, client (write into the PLC) or server (PLC polls).")
    mode: PlcMode = Field(PlcMode.FREE_RUN, description="free_run or triggered (PLC handshake).")
    transport: Transport = Field(Transport.TCP, description="tcp, rtu (serial) or rtu_over_tcp.")
    host: str = Field("127.0.0.1", min_length=1, description="PLC address (client role, TCP).")
    port: int = Field(502, ge=1, le=65535, description="PLC Modbus TCP port (client role).")
    device_id: int = Field(1, ge=0, le=247, description="Modbus unit / device id.")
    timeout_ms: int = Field(100, ge=5, le=10000, description="Reply timeout per request attempt.")
    retries: int = Field(1, ge=0, le=5, description="Retries per request after a timeout.")
    reconnect_min_ms: int = Field(50, ge=10, le=10000, description="First reconnect delay.")
    reconnect_max_ms: int = Field(
        500, ge=10, le=10000, description="Reconnect delay cap (doubles from the minimum up to this)."
    )
    queue_size: int = Field(
        256, ge=1, le=100000, description="Results held while the link is down; beyond it: overrun."
    )
    serial: SerialConfig = Field(default_factory=SerialConfig, description="Serial line (rtu).")
    server: ServerConfig = Field(default_factory=ServerConfig, description="Listening address (server role).")
    registers: RegisterMap = Field(default_factory=RegisterMap, description="Register map start addresses.")
    pulses: PulseConfig = Field(default_factory=PulseConfig, description="Reject/alarm coil pulses.")
    handshake: HandshakeConfig = Field(
        default_factory=HandshakeConfig, description="Triggered-mode handshake timing and buffer."
    )
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig, description="Heartbeats.")
    failsafe: FailSafeConfig = Field(default_factory=FailSafeConfig, description="Fail-safe policy.")

    def grab_timeout_problem(self, grab_timeout_s: float) -> str | None:
        """Why a triggered part whose camera gives no frame within ``grab_timeout_s`` (failed safe,
        902) cannot get its reject pulse, or None. The PLC then has only the result block."""
        pulses = self.pulses
        if self.mode is not PlcMode.TRIGGERED or self.role is PlcRole.OFF or not pulses.enabled:
            return None
        grab_ms = grab_timeout_s * 1000.0
        if grab_ms < pulses.failsafe_window_ms:
            return None
        return (
            f"runtime.trigger_grab_timeout_s ({grab_ms:.0f} ms) is not shorter than a fail-safe's "
            f"pulse window (plc.pulses: delay_ms + late_ms + min(late_ms, {FAILSAFE_GRACE_MAX_MS}) = "
            f"{pulses.failsafe_window_ms} ms): a part whose camera gives no frame is failed safe (902) "
            "too late for its reject pulse (block flagged fail-safe and late, no pulse); lower "
            "trigger_grab_timeout_s, widen plc.pulses, or have the PLC reject from the result block"
        )

    @model_validator(mode="after")
    def _reconnect_bounds(self) -> PlcConfig:
        if self.reconnect_min_ms > self.reconnect_max_ms:
            raise ValueError("reconnect_min_ms must not exceed reconnect_max_ms")
        return self
