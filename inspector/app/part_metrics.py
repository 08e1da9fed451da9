"""/metrics figures per part: latency histograms, parts by camera and verdict, fail-safes by code, fps.

The output stage feeds ``PartMetrics.record`` once per part (through ``StatsCollector``). The
fail-safe family joins the pipeline's fail-safe verdicts with the ones only the PLC side sees
(a part failed safe at its deadline, a trigger while busy, a part open at shutdown): those never
reach the output stage as verdicts, so counting only the pipeline's would hide them.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from inspector.app.outputs import Outputs
from inspector.health.metrics import Metric
from inspector.messages import FailSafeCause, FrameMsg, VerdictCode

# seconds: a frame's stage takes about a millisecond to a few hundred; e2e up to seconds when late
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)
FPS_WINDOW_S = 10.0
# fail-safes counted by the PLC side only (its counters), by the code the PLC receives
PLC_FAILSAFES = {
    "deadline_failsafes": FailSafeCause.DEADLINE,
    "failed_at_shutdown": FailSafeCause.SHUTDOWN,
    "missed_triggers": FailSafeCause.TRIGGER_OVERRUN,
}


class PartMetrics:
    """The client metrics fed per part (not registered until ``register``) and the fail-safe counts."""

    def __init__(self) -> None:
        self.e2e = Histogram(
            "inspector_e2e_latency_seconds",
            "Capture to output per part.",
            ["camera"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.stage = Histogram(
            "inspector_stage_latency_seconds",
            "Time per frame in each stage (decode, preprocess, infer, rules, ...).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.parts = Counter(
            "inspector_parts_total",
            "Parts answered at the output, by camera and verdict (NONE: failed safe without one).",
            ["camera", "verdict"],
            registry=None,
        )
        self.rejects = Counter(
            "inspector_rejects_total",
            "Parts not passed, by verdict and the code of their first reason (a rule's, or 9xx).",
            ["verdict", "code"],
            registry=None,
        )
        self._lock = threading.Lock()
        self._failsafes: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self._started = time.monotonic()

    def register(self, registry: CollectorRegistry) -> None:
        for family in (self.e2e, self.stage, self.parts, self.rejects):
            registry.register(family)

    def record(self, msg: FrameMsg, e2e_ms: float) -> None:
        verdict = msg.verdict
        code = verdict.code if verdict else VerdictCode.NONE
        self.parts.labels(msg.source_id, code.name).inc()
        first = str(verdict.first_code) if verdict and verdict.first_code else "none"
        if code is not VerdictCode.PASS:
            self.rejects.labels(code.name, first).inc()
        self.e2e.labels(msg.source_id).observe(e2e_ms / 1000.0)
        for stage, ms in msg.timings_ms:
            self.stage.labels(stage).observe(ms / 1000.0)
        now = time.monotonic()
        with self._lock:
            if verdict is None or verdict.failsafe:
                self._failsafes[first] += 1
            self._recent.append(now)
            while self._recent and self._recent[0] < now - FPS_WINDOW_S:
                self._recent.popleft()

    def fps(self) -> float:
        """Parts per second over the last ``FPS_WINDOW_S`` (or since start, when shorter)."""
        now = time.monotonic()
        with self._lock:
            recent = sum(1 for t in self._recent if t >= now - FPS_WINDOW_S)
        return recent / max(min(now - self._started, FPS_WINDOW_S), 1e-3)

    def failsafes(self) -> dict[str, int]:
        with self._lock:
            return dict(self._failsafes)


def part_metrics(parts: PartMetrics, outputs: Outputs) -> Callable[[], list[Metric]]:
    """A collector: fail-safes by code and origin (pipeline, plc), and fps."""

    def collect() -> list[Metric]:
        samples = [
            ((("code", code), ("origin", "pipeline")), float(n)) for code, n in parts.failsafes().items()
        ]
        link = outputs.link_stats()
        if link is not None:
            for counter, cause in PLC_FAILSAFES.items():
                samples.append(
                    ((("code", str(int(cause))), ("origin", "plc")), float(getattr(link, counter)))
                )
        help = (
            "Parts failed safe, by code (9xx); origin plc: counted by the PLC side only (e.g. 900 deadline)."
        )
        return [
            Metric("inspector_failsafes_total", "counter", help, tuple(samples)),
            Metric.single(
                "inspector_fps", "gauge", f"Parts per second over the last {FPS_WINDOW_S:g} s.", parts.fps()
            ),
        ]

    return collect
