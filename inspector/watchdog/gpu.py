"""GPU memory against a budget, and torch's memory summary at a fixed inference cadence.

On a CPU-only host (or a CPU engine) the watchdog reports ok with "no CUDA device"
and schedules nothing: it skips cleanly rather than pretending to measure.

The peak is judged per check interval: torch's peak counter is reset after each
reading, so one transient spike degrades the line for one interval, not until
the next restart. The highest peak since start is kept separately (a metric).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthState
from inspector.logging import get_logger
from inspector.watchdog.config import WatchdogConfig

log = get_logger("watchdog.gpu")

MIB = 1024 * 1024
DEFAULT_BUDGET_FRACTION = 0.9


class GpuMemory(Protocol):
    """What the watchdog reads from a CUDA device (shaped like ``torch.cuda``'s calls)."""

    def memory_allocated(self) -> int: ...
    def memory_reserved(self) -> int: ...
    def max_memory_allocated(self) -> int: ...
    def reset_peak_memory_stats(self) -> None: ...
    def total_memory(self) -> int: ...
    def memory_summary(self) -> str: ...


class TorchCudaMemory:
    """The real reader for one CUDA device."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def memory_allocated(self) -> int:
        return int(torch.cuda.memory_allocated(self.device))

    def memory_reserved(self) -> int:
        return int(torch.cuda.memory_reserved(self.device))

    def max_memory_allocated(self) -> int:
        return int(torch.cuda.max_memory_allocated(self.device))

    def reset_peak_memory_stats(self) -> None:
        torch.cuda.reset_peak_memory_stats(self.device)

    def total_memory(self) -> int:
        return int(torch.cuda.get_device_properties(self.device).total_memory)

    def memory_summary(self) -> str:
        return str(torch.cuda.memory_summary(self.device, abbreviated=True))


def cuda_memory_for(device: torch.device | str | None) -> GpuMemory | None:
    """A reader for the engine's device, or None when it is not a usable CUDA device."""
    if device is None:
        return None
    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available():
        return None
    return TorchCudaMemory(dev)


@dataclass(frozen=True, slots=True)
class GpuReading:
    allocated: int
    reserved: int
    peak: int
    budget: int


class GpuMemoryWatchdog:
    """Compares reserved memory (what the allocator holds) with the budget on each ``check()``."""

    name = "memory.gpu"

    def __init__(
        self,
        config: WatchdogConfig,
        memory: GpuMemory | None,
        inferences: Callable[[], int] = lambda: 0,
    ) -> None:
        self.config = config
        self.memory = memory
        self._inferences = inferences
        self._last_summary_at = 0
        self.summaries_logged = 0
        self.last: GpuReading | None = None
        self.start: GpuReading | None = None
        self.peak_since_start = 0
        self._health = ComponentHealth(
            self.name, HealthState.OK, "no CUDA device" if memory is None else "not checked yet"
        )

    @property
    def active(self) -> bool:
        return self.memory is not None

    def budget_bytes(self) -> int:
        assert self.memory is not None
        if self.config.gpu_budget_mib is not None:
            return self.config.gpu_budget_mib * MIB
        return int(self.memory.total_memory() * DEFAULT_BUDGET_FRACTION)

    def check(self) -> GpuReading | None:
        if self.memory is None:
            return None
        mem = self.memory
        # Peak read then reset: the next check sees only its own interval's peak.
        peak = mem.max_memory_allocated()
        mem.reset_peak_memory_stats()
        reading = GpuReading(mem.memory_allocated(), mem.memory_reserved(), peak, self.budget_bytes())
        self.last = reading
        self.peak_since_start = max(self.peak_since_start, peak)
        if self.start is None:
            self.start = reading
        text = (
            f"allocated {reading.allocated / MIB:.0f} MiB, reserved {reading.reserved / MIB:.0f} MiB, "
            f"interval peak {reading.peak / MIB:.0f} MiB of budget {reading.budget / MIB:.0f} MiB"
        )
        over = max(reading.reserved, reading.peak) > reading.budget
        if over and self._health.state is HealthState.OK:
            log.warning("gpu_memory_over_budget", detail=text)
        self._health = ComponentHealth(self.name, HealthState.DEGRADED if over else HealthState.OK, text)
        self._maybe_log_summary()
        return reading

    def _maybe_log_summary(self) -> None:
        every = self.config.memory_summary_every
        if every <= 0 or self.memory is None:
            return
        done = self._inferences()
        if done - self._last_summary_at >= every:
            self._last_summary_at = done - done % every
            self.summaries_logged += 1
            log.info("gpu_memory_summary", inferences=done, summary=self.memory.memory_summary())

    def health(self) -> ComponentHealth:
        return self._health

    def metrics(self) -> list[Metric]:
        if self.last is None:
            return []
        r = self.last
        return [
            Metric.single("inspector_gpu_memory_allocated_bytes", "gauge", "CUDA allocated.", r.allocated),
            Metric.single("inspector_gpu_memory_reserved_bytes", "gauge", "CUDA reserved.", r.reserved),
            Metric.single(
                "inspector_gpu_memory_peak_bytes", "gauge", "CUDA peak allocated, last interval.", r.peak
            ),
            Metric.single(
                "inspector_gpu_memory_peak_max_bytes",
                "gauge",
                "Highest CUDA peak allocated since start.",
                self.peak_since_start,
            ),
            Metric.single("inspector_gpu_memory_budget_bytes", "gauge", "GPU memory budget.", r.budget),
        ]
