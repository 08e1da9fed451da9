"""On a CUDA device only: the real GPU memory reader and a real CUDA out-of-memory in the guard.

Without CUDA these skip (the fake reader and the injected OOM in test_watchdogs.py and
test_oom.py cover the logic); on a GPU machine they check that torch's real counters and
real allocation failures behave the way the watchdog and the guard assume.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.health.state import HealthState
from inspector.watchdog.config import OomConfig, WatchdogConfig
from inspector.watchdog.gpu import GpuMemoryWatchdog, TorchCudaMemory, cuda_memory_for
from inspector.watchdog.oom import OomGuard, free_cuda_cache
from inspector.watchdog.restart import RestartRequest
from tests.support.reference import synthetic_image

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
pytestmark = needs_cuda

MIB = 1024 * 1024


@pytest.fixture
def cuda() -> Iterator[torch.device]:
    device = torch.device("cuda", torch.cuda.current_device())
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    yield device
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()


def test_real_reader_follows_torch_counters_and_resets_the_peak(cuda: torch.device) -> None:
    reader = cuda_memory_for(cuda)
    assert isinstance(reader, TorchCudaMemory)
    base = reader.memory_allocated()
    block = torch.empty(256 * MIB, dtype=torch.uint8, device=cuda)
    assert reader.memory_allocated() >= base + 256 * MIB
    assert reader.memory_reserved() >= reader.memory_allocated()
    del block
    assert reader.memory_allocated() < base + 256 * MIB
    assert reader.max_memory_allocated() >= base + 256 * MIB  # the peak outlives the tensor
    reader.reset_peak_memory_stats()
    assert reader.max_memory_allocated() == reader.memory_allocated()
    assert reader.total_memory() == torch.cuda.get_device_properties(cuda).total_memory
    assert "PyTorch CUDA memory summary" in reader.memory_summary()


def test_real_watchdog_degrades_for_one_interval_on_a_transient_peak(cuda: torch.device) -> None:
    reader = TorchCudaMemory(cuda)
    budget_mib = (max(reader.memory_reserved(), reader.memory_allocated()) // MIB) + 128
    wd = GpuMemoryWatchdog(WatchdogConfig(gpu_budget_mib=budget_mib), reader)
    wd.check()
    assert wd.health().state is HealthState.OK, wd.health()
    spike = torch.empty(512 * MIB, dtype=torch.uint8, device=cuda)
    del spike
    torch.cuda.empty_cache()  # reserved back under budget: only the peak saw the spike
    wd.check()
    assert wd.health().state is HealthState.DEGRADED and wd.peak_since_start >= 512 * MIB
    wd.check()
    assert wd.health().state is HealthState.OK, wd.health()


class ScratchHungryEngine:
    """The real engine plus a per-frame CUDA scratch buffer, like a batched workspace: a batch of
    ``n`` frames first allocates ``n * per_frame_bytes`` on the device (for real), then infers."""

    def __init__(self, engine: Any, device: torch.device) -> None:
        self.engine, self.device = engine, device
        self.per_frame_bytes = 0
        self.batches: list[int] = []

    def infer(self, frames: Sequence[np.ndarray]) -> list[Any]:
        self.batches.append(len(frames))
        scratch = torch.empty(len(frames) * self.per_frame_bytes, dtype=torch.uint8, device=self.device)
        try:
            return list(self.engine.infer(frames))
        finally:
            del scratch


def test_real_cuda_oom_frees_the_cache_fails_safe_and_recovers(
    cuda: torch.device, tiny_seg_checkpoint: Path
) -> None:
    engine = ScratchHungryEngine(
        load_engine(EngineConfig(model=tiny_seg_checkpoint, imgsz=160, device=str(cuda))), cuda
    )
    frames = [synthetic_image(96, 128, seed=i) for i in range(4)]
    reserved_after_free: list[int] = []

    def free_cache() -> None:  # the real one, and what the allocator holds right after it
        free_cuda_cache()
        reserved_after_free.append(torch.cuda.memory_reserved(cuda))

    restart = RestartRequest()
    guard = OomGuard(OomConfig(repeat_count=100), restart, 4, free_cache=free_cache)
    assert all(d is not None for d in guard.infer(engine.infer, frames))

    # A cached block the allocator holds but nobody uses: the guard's cache free must return it.
    unused = torch.empty(1024 * MIB, dtype=torch.uint8, device=cuda)
    del unused
    cached = torch.cuda.memory_reserved(cuda)
    free, _ = torch.cuda.mem_get_info(cuda)
    engine.per_frame_bytes = int(free * 0.35)  # 4 frames do not fit, 2 do
    out = guard.infer(engine.infer, frames)
    assert all(d is not None for d in out) and engine.batches[-3:] == [4, 2, 2]
    assert guard.oom_events == 1 and guard.recovered_frames == 4 and guard.failsafe_frames == 0
    assert len(reserved_after_free) == 1 and reserved_after_free[0] < cached

    engine.per_frame_bytes = int(free * 1.5)  # not even one frame fits: the parts fail safe
    assert guard.infer(engine.infer, frames) == [None] * 4
    assert guard.failsafe_frames == 4 and guard.oom_events == 4  # the batch, then both halves

    engine.per_frame_bytes = 0  # the pressure is gone: inference goes on, no restart
    assert all(d is not None for d in guard.infer(engine.infer, frames))
    assert not restart.requested
