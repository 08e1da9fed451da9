"""Memory figures of the soak run: a process's RSS now and its trend (read from /proc, so the
harness measures the daemon from outside), CUDA memory when a GPU is in use."""

from __future__ import annotations

import itertools
import math
import threading
import time

MIB = 1024 * 1024


def rss_mib(pid: int | str = "self") -> float:
    """VmRSS of process ``pid`` (this one by default), in MiB."""
    return memory_mib(pid)[0]


def memory_mib(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, RssAnon) of process ``pid`` in MiB. RSS counts the mapped library and model-file
    pages too, which the kernel drops and reloads with page-cache pressure from other processes;
    RssAnon is the heap alone, which is what a leak grows."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon"):
                found[key] = int(line.split()[1]) / 1024
    if len(found) < 2:
        raise ValueError(f"no VmRSS/RssAnon for process {pid}")
    return found["VmRSS"], found["RssAnon"]


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
    """RSS and RssAnon of process ``pid`` sampled every few seconds; slopes of the first and the
    second half (after warm-up) in MiB/h, the anonymous ones prefixed ``anon_``."""

    def __init__(self, pid: int | str = "self", period_s: float = 5.0) -> None:
        self.pid = pid
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self.anon_samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-rss", daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(self.period_s):
            try:
                rss, anon = memory_mib(self.pid)
                now = time.monotonic() - t0
                self.samples.append((now, rss))
                self.anon_samples.append((now, anon))
            except (OSError, ValueError):  # the process is gone (or a zombie): nothing to measure
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(10)
        anon = {f"anon_{k}": v for k, v in trend_figures(self.anon_samples).items()}
        return {**trend_figures(self.samples), **anon}


def trend_figures(samples: list[tuple[float, float]]) -> dict[str, float]:
    from inspector.watchdog.rss import slope_per_s

    half = len(samples) // 2
    _, second_se = slope_with_error(samples[half:])
    return {
        "peak_mib": round(max((v for _, v in samples), default=0.0), 1),
        "first_half_slope_mib_per_h": round(slope_per_s(samples[:half]) * 3600, 2),
        "second_half_slope_mib_per_h": round(slope_per_s(samples[half:]) * 3600, 2),
        "second_half_slope_stderr_mib_per_h": round(second_se, 2),
    }


def slope_with_error(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of (t, MiB) samples in MiB/h, with its standard error. RSS wobbles by
    tens of MiB with the frames in flight; neighbouring samples wobble together, so the error is
    widened for the lag-1 autocorrelation of the residuals."""
    n = len(samples)
    if n < 3:
        return 0.0, float("inf")
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in samples)
    slope = sum((t - mean_t) * (v - mean_v) for t, v in samples) / var_t
    res = [v - mean_v - slope * (t - mean_t) for t, v in samples]
    sum_sq = sum(r * r for r in res) or 1e-12
    rho = max(0.0, sum(a * b for a, b in itertools.pairwise(res)) / sum_sq)
    se = math.sqrt(sum_sq / (n - 2) / var_t * (1 + rho) / (1 - rho)) if rho < 1 else float("inf")
    return slope * 3600, se * 3600
