"""A test hook for the OOM path: an engine proxy that raises a real CUDA OOM error while armed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from torch.cuda import OutOfMemoryError


class OomInjectingEngine:
    """An Engine proxy whose ``infer`` raises CUDA OOM while armed.

    ``arm(times, min_batch)`` makes the next ``times`` calls with at least
    ``min_batch`` frames raise ``torch.cuda.OutOfMemoryError`` (a real instance of
    the class torch raises), so the whole OOM path runs without a GPU. Every other
    attribute is the wrapped engine's.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._remaining = 0
        self._min_batch = 1
        self.injected = 0

    def arm(self, times: int, min_batch: int = 1) -> None:
        with self._lock:
            self._remaining, self._min_batch = times, min_batch

    def infer(self, frames: Sequence[Any]) -> Any:
        with self._lock:
            fire = self._remaining > 0 and len(frames) >= self._min_batch
            if fire:
                self._remaining -= 1
                self.injected += 1
        if fire:
            raise OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (injected by OomInjectingEngine)"
            )
        return self._engine.infer(frames)

    def __getattr__(self, name: str) -> Any:
        if name in ("forward", "finish"):  # injected into infer only: no two-step path around it
            raise AttributeError(name)
        return getattr(self._engine, name)
