"""Per-frame figures: the 'inspection' event fields and the periodic 'stats' percentiles."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspector.app.part_metrics import PartMetrics
from inspector.messages import FrameMsg, VerdictCode
from inspector.rules.log import to_log

E2E = "e2e"


def instance_counts(msg: FrameMsg) -> dict[str, int]:
    """Instances per class name in the frame's detections."""
    det = msg.detections
    if det is None or len(det) == 0:
        return {}
    ids = det.class_ids.detach().to("cpu").tolist()
    counts: dict[str, int] = {}
    for class_id in ids:
        name = det.names[class_id] if 0 <= class_id < len(det.names) else str(class_id)
        counts[name] = counts.get(name, 0) + 1
    return counts


def inspection_fields(msg: FrameMsg, e2e_ms: float) -> dict[str, Any]:
    """The fields of one 'inspection' log event: the frame's, then the verdict's (``to_log``)."""
    return {
        "seq": msg.seq,
        "source": msg.source_id,
        "part_id": msg.part_id,
        "recipe": msg.recipe,
        **msg.device_fields(),
        **to_log(msg.verdict),
        "instances": instance_counts(msg),
        "stage_ms": {stage: round(ms, 3) for stage, ms in msg.timings_ms},
        "e2e_ms": round(e2e_ms, 3),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 (ms, rounded) of ``values``."""
    if not values:
        return {}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3)}


@dataclass
class _Window:
    frames: int = 0
    started: float = field(default_factory=time.monotonic)
    verdicts: collections.Counter[str] = field(default_factory=collections.Counter)
    failsafe: int = 0
    latencies: dict[str, collections.deque[float]] = field(default_factory=dict)


class StatsCollector:
    """Counts and latencies of frames that reached the output stage, per period and in total."""

    def __init__(self, window: int = 4096) -> None:
        self._window_size = window
        self._lock = threading.Lock()
        self._period = _Window()
        self._total = _Window()
        self.parts = PartMetrics()  # the same parts, for /metrics

    def record(self, msg: FrameMsg, e2e_ms: float) -> None:
        code = msg.verdict.code.name if msg.verdict is not None else VerdictCode.NONE.name
        failsafe = msg.verdict is None or msg.verdict.failsafe
        self.parts.record(msg, e2e_ms)
        with self._lock:
            for window in (self._period, self._total):
                window.frames += 1
                window.verdicts[code] += 1
                window.failsafe += int(failsafe)
                for stage, ms in (*msg.timings_ms, (E2E, e2e_ms)):
                    lat = window.latencies.get(stage)
                    if lat is None:
                        lat = window.latencies[stage] = collections.deque(maxlen=self._window_size)
                    lat.append(ms)

    def restart_clock(self) -> None:
        """Count elapsed time (fps) from now; called when the line starts."""
        with self._lock:
            now = time.monotonic()
            self._period.started = self._total.started = now

    def take_period(self) -> dict[str, Any]:
        """The figures since the last call (fps, verdicts, percentiles), and a new period."""
        with self._lock:
            window, self._period = self._period, _Window()
        return self._summary(window)

    def total(self) -> dict[str, Any]:
        """The figures since start."""
        with self._lock:
            window = _Window(
                self._total.frames,
                self._total.started,
                collections.Counter(self._total.verdicts),
                self._total.failsafe,
                {k: collections.deque(v) for k, v in self._total.latencies.items()},
            )
        return self._summary(window)

    @staticmethod
    def _summary(window: _Window) -> dict[str, Any]:
        elapsed = max(time.monotonic() - window.started, 1e-9)
        return {
            "frames": window.frames,
            "elapsed_s": round(elapsed, 3),
            "fps": round(window.frames / elapsed, 3),
            "verdicts": dict(window.verdicts),
            "failsafe": window.failsafe,
            "latency_ms": {stage: percentiles(list(v)) for stage, v in window.latencies.items()},
        }
