"""Counters and flags of the output stage, and the stats snapshot it exposes.

Mutated only on the stage's event-loop thread; other threads read snapshots
(plain ints and bools, so a snapshot is at worst one update behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector.messages import VerdictCode
from inspector.plc.records import ResultRecord, StatusBit, Totals


@dataclass(frozen=True, slots=True)
class PlcStats:
    """What the output stage reports for the ``stats`` event and for health."""

    role: str
    mode: str
    link: str
    link_up: bool
    plc_alive: bool | None  # None: PLC heartbeat not watched
    plc_clients: int
    submitted: int
    delivered: int
    ok: int
    ng: int
    errors: int
    pending: int
    dropped: int
    late: int
    late_verdicts: int
    triggers: int
    missed_triggers: int
    deadline_failsafes: int
    reject_pulses: int
    alarm_pulses: int
    pulse_failures: int
    merged_pulses: int  # pulses that started while the coil was still on for an earlier part
    reconnects: int
    link_failures: int
    exception_replies: int
    last_error: str
    error_code: int
    status_word: int
    last_ms: float
    avg_ms: float
    max_ms: float


@dataclass
class OutputState:
    """Mutable state shared by the stage's tasks (all on one event loop)."""

    status: StatusBit = StatusBit.ONLINE
    error_code: int = 0
    heartbeat: int = 0
    healthy: bool = False
    plc_alive: bool | None = None
    submitted: int = 0
    delivered: int = 0
    ok: int = 0
    ng: int = 0
    errors: int = 0
    dropped: int = 0
    dropped_since_last: bool = False
    late: int = 0
    late_verdicts: int = 0
    triggers: int = 0
    missed_triggers: int = 0
    deadline_failsafes: int = 0
    pulses: dict[str, int] = field(
        default_factory=lambda: {"reject": 0, "alarm": 0, "failed": 0, "merged": 0}
    )
    reconnects: int = 0
    link_failures: int = 0
    exception_replies: int = 0
    last_error: str = ""
    last_ms: float = 0.0
    total_ms: float = 0.0
    timed: int = 0
    max_ms: float = 0.0

    def count_verdict(self, record: ResultRecord) -> None:
        """Count a part once, when its verdict is known."""
        verdict = record.verdict
        if verdict.failsafe:
            self.errors += 1
        elif verdict.code is VerdictCode.PASS:
            self.ok += 1
        else:
            self.ng += 1
        if not verdict.failsafe and record.inspect_ms > 0:
            self.last_ms = record.inspect_ms
            self.total_ms += record.inspect_ms
            self.timed += 1
            self.max_ms = max(self.max_ms, record.inspect_ms)

    def totals(self) -> Totals:
        avg = self.total_ms / self.timed if self.timed else 0.0
        return Totals(
            ok=self.ok,
            ng=self.ng,
            errors=self.errors,
            last_ms=self.last_ms,
            avg_ms=avg,
            max_ms=self.max_ms,
            dropped=self.dropped,
        )

    def set_flag(self, bit: StatusBit, on: bool) -> bool:
        """Set or clear a status bit; True when the word changed."""
        before = self.status
        self.status = (self.status | bit) if on else (self.status & ~bit)
        return self.status != before
