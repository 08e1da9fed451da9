"""Memory figures of the soak run: RSS now and its trend, CUDA memory when a GPU is in use."""

from __future__ import annotations

import threading
import time

MIB = 1024 * 1024


def rss_mib() -> float:
    from inspector.watchdog.rss import read_rss_bytes

    return read_rss_bytes() / MIB


def gpu_mib(gpu_watchdog: object = None) -> dict[str, float] | None:
    """CUDA memory now. The GPU watchdog resets torch's peak counter at each check, so the
    peak since start is its own figure (``peak_since_start``), when the watchdog runs."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    out = {
        "allocated": torch.cuda.memory_allocated() / MIB,
        "reserved": torch.cuda.memory_reserved() / MIB,
        "peak_since_last_check": torch.cuda.max_memory_allocated() / MIB,
    }
    peak = getattr(gpu_watchdog, "peak_since_start", 0)
    if peak:
        out["peak_since_start"] = max(peak / MIB, out["peak_since_last_check"])
    return out


class RssTrend:
    """RSS sampled every few seconds; the slope over the second half (after warm-up) in MiB/h."""

    def __init__(self, period_s: float = 5.0) -> None:
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.samples.append((time.monotonic(), rss_mib()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float]:
        from inspector.watchdog.rss import slope_per_s

        self._stop.set()
        self._thread.join(10)
        half = self.samples[len(self.samples) // 2 :]
        return {
            "peak_mib": round(max((v for _, v in self.samples), default=0.0), 1),
            "second_half_slope_mib_per_h": round(slope_per_s(half) * 3600, 1),
        }
