"""The PLC side's counters (one frozen dataclass) and the stats snapshot built on them.

The stage's loop replaces its ``PlcCounters`` with an updated copy on every count, so a
thread reading ``PlcOutput.stats()`` sees one consistent set of counters, never half an update.
The same counters fill the statistics registers of every result block.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from inspector.messages import Verdict, VerdictCode


@dataclass(frozen=True, slots=True)
class PlcCounters:
    """Everything the PLC side counts, since start."""

    submitted: int = 0  # verdicts handed to the PLC side by the pipeline
    delivered: int = 0  # results written (and, triggered, acked)
    ok: int = 0  # parts passed
    ng: int = 0  # parts rejected or alarmed by the rules
    errors: int = 0  # parts failed safe
    dropped: int = 0  # results dropped because the buffer was full
    late: int = 0  # results written after their pulse window: no pulse
    late_verdicts: int = 0  # verdicts after their part was failed safe at its deadline: dropped
    triggers: int = 0
    missed_triggers: int = 0  # triggers while busy (failed safe, 906)
    deadline_failsafes: int = 0  # parts failed safe at their deadline (900)
    failed_at_shutdown: int = 0  # parts still open at shutdown, failed safe then (905)
    reject_pulses: int = 0
    alarm_pulses: int = 0
    pulse_failures: int = 0
    merged_pulses: int = 0  # pulses that started while the coil was still on for an earlier part
    reconnects: int = 0
    link_failures: int = 0
    exception_replies: int = 0
    timed: int = 0  # parts with a measured inspection time (fail-safes have none)
    last_ms: float = 0.0
    avg_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, **increments: int) -> PlcCounters:
        """A copy with the named counters increased."""
        return dataclasses.replace(self, **{k: getattr(self, k) + n for k, n in increments.items()})

    def with_verdict(self, verdict: Verdict, inspect_ms: float) -> PlcCounters:
        """A copy counting one part's verdict (and its inspection time, when it has a real one)."""
        if verdict.failsafe:
            return self.add(errors=1)
        counted = self.add(ok=1) if verdict.code is VerdictCode.PASS else self.add(ng=1)
        if inspect_ms <= 0:
            return counted
        timed = counted.timed + 1
        return dataclasses.replace(
            counted,
            timed=timed,
            last_ms=inspect_ms,
            avg_ms=counted.avg_ms + (inspect_ms - counted.avg_ms) / timed,
            max_ms=max(counted.max_ms, inspect_ms),
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(PlcCounters)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlcStats(PlcCounters):
    """What the output stage reports for the ``stats`` event, /metrics and health: the counters
    and the link's state now."""

    role: str
    mode: str
    link: str
    link_up: bool
    plc_alive: bool | None  # None: PLC heartbeat not watched
    plc_clients: int
    pending: int  # results waiting to be written
    last_error: str
    error_code: int
    status_word: int
