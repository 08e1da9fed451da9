"""Host memory trend: RSS sampled periodically, slope fitted over a window.

A slow leak in a months-long predict loop shows as a steady RSS slope long before
the kernel's OOM killer. Above the warning slope the line is degraded and a
warning is logged; above the restart slope (or an absolute RSS limit) a
controlled restart between parts is requested.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthState
from inspector.logging import get_logger
from inspector.watchdog.config import WatchdogConfig
from inspector.watchdog.heap import release_free_heap
from inspector.watchdog.restart import RestartExit, RestartRequest

log = get_logger("watchdog.rss")

MIB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def read_rss_bytes() -> int:
    """This process's resident set size, from /proc/self/statm (pages → bytes)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


def slope_per_s(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value) samples; 0 for fewer than two distinct times."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in samples)
    if var_t == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var_t


@dataclass(frozen=True, slots=True)
class RssReading:
    rss_mib: float
    slope_mib_per_h: float
    window_full: bool


class RssWatchdog:
    """Samples RSS on each ``check()``; health and restart decisions from the fitted slope."""

    name = "memory.host"

    def __init__(
        self,
        config: WatchdogConfig,
        restart: RestartRequest,
        read_rss: Callable[[], int] = read_rss_bytes,
        clock: Callable[[], float] = time.monotonic,
        release_heap: Callable[[], object] | None = release_free_heap,
    ) -> None:
        self.config = config
        self._restart = restart
        self._read = read_rss
        self._release_heap = release_heap
        self.released_mib = 0.0  # given back to the OS before the samples, in total
        self._clock = clock
        self._t0 = clock()
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()
        self._health = ComponentHealth(self.name, HealthState.OK, "no samples yet")
        self.last = RssReading(0.0, 0.0, False)
        self.start_mib: float | None = None
        self.warnings = 0

    def check(self) -> RssReading:
        before_mib = None
        if self._release_heap is not None:
            # sample what the line holds, not what the allocator kept after the line freed it
            before_mib = self._read() / MIB
            self._release_heap()
        now = self._clock()  # after the trim, which takes 100+ ms on a large fragmented heap
        rss_mib = self._read() / MIB
        if before_mib is not None:
            self.released_mib += max(0.0, before_mib - rss_mib)
        if self.start_mib is None:
            self.start_mib = rss_mib
        cfg = self.config
        with self._lock:
            if now - self._t0 >= cfg.rss_grace_s:
                self._samples.append((now, rss_mib))
            # Keep the newest sample from before the window as its anchor: the fit then spans the
            # whole window whatever the spacing. Dropping it left a span one interval short, so an
            # interval over a tenth of the window (or one late check) read as "window filling".
            while len(self._samples) > 1 and now - self._samples[1][0] >= cfg.rss_window_s:
                self._samples.popleft()
            samples = list(self._samples)
        span = samples[-1][0] - samples[0][0] if samples else 0.0
        # A window counts once it spans most of its length; shorter fits are noise.
        full = span >= 0.9 * cfg.rss_window_s
        slope_h = slope_per_s(samples) * 3600.0
        self.last = RssReading(rss_mib, slope_h, full)
        self._decide(self.last)
        return self.last

    def _decide(self, reading: RssReading) -> None:
        cfg = self.config
        text = f"rss {reading.rss_mib:.0f} MiB, slope {reading.slope_mib_per_h:+.1f} MiB/h"
        if cfg.rss_max_mib is not None and reading.rss_mib > cfg.rss_max_mib:
            self._set(HealthState.DEGRADED, f"{text} over limit {cfg.rss_max_mib} MiB")
            self._restart.request(RestartExit.MEMORY_LEAK, f"host RSS {reading.rss_mib:.0f} MiB over limit")
            return
        if not reading.window_full:
            self._set(HealthState.OK, text + " (window filling)")
            return
        if reading.slope_mib_per_h > cfg.rss_restart_mib_per_h:
            self._set(HealthState.DEGRADED, f"{text}: leak, restart requested")
            self._restart.request(
                RestartExit.MEMORY_LEAK, f"host RSS growing {reading.slope_mib_per_h:.0f} MiB/h"
            )
        elif reading.slope_mib_per_h > cfg.rss_warn_mib_per_h:
            if self._health.state is HealthState.OK:
                self.warnings += 1
                log.warning(
                    "memory_leak_suspected",
                    rss_mib=round(reading.rss_mib, 1),
                    slope_mib_per_h=round(reading.slope_mib_per_h, 1),
                    warn_mib_per_h=cfg.rss_warn_mib_per_h,
                )
            self._set(HealthState.DEGRADED, f"{text}: possible leak")
        else:
            self._set(HealthState.OK, text)

    def _set(self, state: HealthState, detail: str) -> None:
        self._health = ComponentHealth(self.name, state, detail)

    def health(self) -> ComponentHealth:
        return self._health

    def metrics(self) -> list[Metric]:
        return [
            # read live: the first check comes one interval after start
            Metric.single("inspector_rss_bytes", "gauge", "Resident set size.", float(self._read())),
            Metric.single(
                "inspector_rss_slope_bytes_per_second",
                "gauge",
                "RSS slope fitted over the watchdog window.",
                self.last.slope_mib_per_h * MIB / 3600.0,
            ),
        ]
