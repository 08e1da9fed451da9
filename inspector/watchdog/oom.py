"""CUDA out-of-memory policy around the inference call, and the test hook that injects OOM.

On OOM: free the CUDA cache, retry once in smaller batches (halves; a single frame
once more), and hand back ``None`` for the frames that still failed so the caller
fails them safe (``FailSafeCause.OUT_OF_MEMORY``). When OOM repeats within the
window, degrade as configured (halve the batch, or ask the engine for a smaller
input size) and, once there is nothing left to degrade, request a restart.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthState
from inspector.logging import get_logger
from inspector.watchdog.config import OomAction, OomConfig
from inspector.watchdog.restart import RestartExit, RestartRequest

log = get_logger("watchdog.oom")

T = TypeVar("T")
F = TypeVar("F")
OutOfMemoryError = torch.cuda.OutOfMemoryError


# Allocation failures that torch does not raise as OutOfMemoryError but as a plain RuntimeError
# (torch.AcceleratorError in newer torch): the CUDA runtime's "CUDA error: out of memory"
# (cudaErrorMemoryAllocation, e.g. a cuBLAS workspace), "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when
# calling `cublasCreate(handle)`" and "cuDNN error: CUDNN_STATUS_ALLOC_FAILED". Freeing the cache
# and a smaller batch help those just the same.
_OOM_MARKERS = ("out of memory", "cublas_status_alloc_failed", "cudnn_status_alloc_failed")


def is_cuda_oom(exc: BaseException) -> bool:
    """True for CUDA memory exhaustion however torch or a CUDA library reports it."""
    if isinstance(exc, OutOfMemoryError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _OOM_MARKERS)


def free_cuda_cache() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


class OomGuard:
    """Wraps each inference call; ``max_batch`` is the batch size the inference stage may use now."""

    name = "engine.memory"

    def __init__(
        self,
        config: OomConfig,
        restart: RestartRequest,
        max_batch: int,
        reduce_imgsz: Callable[[], bool] | None = None,
        free_cache: Callable[[], None] = free_cuda_cache,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._restart = restart
        self._max_batch = max(1, max_batch)
        self._reduce_imgsz = reduce_imgsz
        self._free_cache = free_cache
        self._clock = clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()
        self.oom_events = 0
        self.failsafe_frames = 0
        self.recovered_frames = 0
        self.degradations = 0
        self._degraded_detail = ""

    @property
    def max_batch(self) -> int:
        return self._max_batch

    def infer(
        self,
        infer: Callable[[Sequence[F]], Sequence[T]],
        frames: Sequence[F],
        reduce_imgsz: Callable[[], bool] | None = None,
    ) -> list[T | None]:
        """``infer(frames)`` with the OOM policy; None marks a frame that must be failed safe.
        ``reduce_imgsz``: how the engine of this call shrinks its input (a recipe's own engine),
        instead of the one given at construction (the base engine's)."""
        shrink = reduce_imgsz or self._reduce_imgsz
        first = self._attempt(infer, frames, retry=False, shrink=shrink)
        if first is not None:
            return first
        if not self.config.retry_smaller_batch:
            return self._failed(len(frames))
        out: list[T | None] = []
        for chunk in self._retry_chunks(frames):
            result = self._attempt(infer, chunk, retry=True, shrink=shrink)
            if result is None:
                out.extend(self._failed(len(chunk)))
            else:
                self.recovered_frames += len(chunk)
                out.extend(result)
        return out

    def _attempt(
        self,
        infer: Callable[[Sequence[F]], Sequence[T]],
        frames: Sequence[F],
        retry: bool,
        shrink: Callable[[], bool] | None,
    ) -> list[T | None] | None:
        """The results, or None after an OOM (handled); any other error propagates."""
        try:
            return list(infer(frames))
        except RuntimeError as exc:
            if not is_cuda_oom(exc):
                raise
            self._on_oom(len(frames), exc, retry, shrink)
            return None

    @staticmethod
    def _retry_chunks(frames: Sequence[F]) -> list[Sequence[F]]:
        if len(frames) <= 1:
            return [frames]
        mid = (len(frames) + 1) // 2
        return [frames[:mid], frames[mid:]]

    def _failed(self, n: int) -> list[T | None]:
        self.failsafe_frames += n
        return [None] * n

    def _on_oom(self, batch: int, exc: BaseException, retry: bool, shrink: Callable[[], bool] | None) -> None:
        now = self._clock()
        with self._lock:
            self.oom_events += 1
            self._events.append(now)
            while self._events and now - self._events[0] > self.config.repeat_window_s:
                self._events.popleft()
            repeating = len(self._events) >= self.config.repeat_count
            if repeating:
                self._events.clear()
        log.error("cuda_out_of_memory", batch=batch, retry=retry, error=str(exc).splitlines()[0][:200])
        self._free_cache()
        if repeating:
            self._on_repeat(shrink)

    def _on_repeat(self, shrink: Callable[[], bool] | None) -> None:
        action = self.config.on_repeat
        if action is OomAction.DEGRADE_BATCH and self._max_batch > 1:
            self._max_batch = max(1, self._max_batch // 2)
            self._degrade(f"batch reduced to {self._max_batch}")
        elif action is OomAction.DEGRADE_IMGSZ and shrink is not None and shrink():
            self._degrade("input size reduced")
        else:
            self._restart.request(RestartExit.CUDA_OOM, f"CUDA out of memory repeats ({action.value})")

    def _degrade(self, detail: str) -> None:
        self.degradations += 1
        self._degraded_detail = detail
        log.warning("oom_degraded", detail=detail, degradations=self.degradations)

    def health(self) -> ComponentHealth:
        reason = self._restart.reason
        if reason is not None and reason.exit_code is RestartExit.CUDA_OOM:
            return ComponentHealth(self.name, HealthState.DEGRADED, "repeated OOM: restart requested")
        recent = bool(self._events) and self._clock() - self._events[-1] <= self.config.repeat_window_s
        if self._degraded_detail or recent:
            detail = self._degraded_detail or f"{self.oom_events} OOM event(s)"
            return ComponentHealth(self.name, HealthState.DEGRADED, detail)
        return ComponentHealth(self.name, HealthState.OK, f"batch {self._max_batch}")

    def metrics(self) -> list[Metric]:
        return [
            Metric.single("inspector_oom_events_total", "counter", "CUDA OOM events.", self.oom_events),
            Metric.single(
                "inspector_oom_failsafe_frames_total",
                "counter",
                "Frames failed safe after OOM.",
                self.failsafe_frames,
            ),
            Metric.single(
                "inspector_inference_max_batch", "gauge", "Batch size allowed now.", self._max_batch
            ),
        ]
