"""CUDA OOM policy: injected OOM (the engine test hook) → retry smaller, fail safe, degrade, restart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch

from inspector.health.state import HealthState
from inspector.watchdog.config import OomAction, OomConfig
from inspector.watchdog.oom import OomGuard, is_cuda_oom
from inspector.watchdog.restart import RestartExit, RestartRequest
from tests.support.oom import OomInjectingEngine


class TinyEngine:
    """A real (tiny) torch model behind the Engine's infer() shape: one result per frame."""

    def __init__(self) -> None:
        self.net = torch.nn.Conv2d(3, 1, 3)
        self.batches: list[int] = []
        self.names = ("a", "b")

    @torch.inference_mode()
    def infer(self, frames: Sequence[np.ndarray]) -> list[float]:
        self.batches.append(len(frames))
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()
        return [float(v) for v in self.net(x).mean(dim=(1, 2, 3))]


def frames(n: int) -> list[np.ndarray]:
    return [np.full((8, 8, 3), i, np.uint8) for i in range(n)]


def make(
    config: OomConfig, max_batch: int = 8, **kw: object
) -> tuple[OomGuard, OomInjectingEngine, RestartRequest]:
    restart = RestartRequest()
    guard = OomGuard(config, restart, max_batch, free_cache=lambda: None, **kw)  # type: ignore[arg-type]
    return guard, OomInjectingEngine(TinyEngine()), restart


def test_injected_oom_is_a_real_torch_oom_and_attributes_pass_through() -> None:
    engine = OomInjectingEngine(TinyEngine())
    engine.arm(1)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        engine.infer(frames(1))
    assert len(engine.infer(frames(2))) == 2
    assert engine.names == ("a", "b") and engine.injected == 1


def test_retry_in_halves_recovers_the_whole_batch() -> None:
    guard, engine, restart = make(OomConfig())
    engine.arm(times=5, min_batch=4)  # the full batch does not fit, halves do
    out = guard.infer(engine.infer, frames(4))
    assert all(v is not None for v in out) and len(out) == 4
    assert engine._engine.batches == [2, 2]
    assert guard.oom_events == 1 and guard.recovered_frames == 4 and guard.failsafe_frames == 0
    assert guard.health().state is HealthState.DEGRADED  # a recent OOM shows
    assert not restart.requested


def test_frames_that_still_fail_come_back_none_for_fail_safe() -> None:
    guard, engine, _ = make(OomConfig(repeat_count=10))
    engine.arm(times=2, min_batch=1)  # first call and the first half's retry fail
    out = guard.infer(engine.infer, frames(4))
    assert out[:2] == [None, None] and all(v is not None for v in out[2:])
    assert guard.failsafe_frames == 2
    engine.arm(times=2)
    assert guard.infer(engine.infer, frames(1)) == [None]


def test_no_retry_when_disabled() -> None:
    guard, engine, _ = make(OomConfig(retry_smaller_batch=False, repeat_count=10))
    engine.arm(times=1)
    assert guard.infer(engine.infer, frames(3)) == [None, None, None]


def test_repeats_degrade_the_batch_then_request_restart() -> None:
    guard, engine, restart = make(OomConfig(repeat_count=2), max_batch=4)
    for expected in (2, 1):
        engine.arm(times=2, min_batch=1)
        guard.infer(engine.infer, frames(1))
        assert guard.max_batch == expected and not restart.requested
    assert guard.health().detail == "batch reduced to 1"
    engine.arm(times=2, min_batch=1)
    guard.infer(engine.infer, frames(1))
    assert restart.requested and restart.reason is not None
    assert restart.reason.exit_code is RestartExit.CUDA_OOM
    # recovery: once OOM stops, inference goes on at the degraded batch size
    assert guard.infer(engine.infer, frames(1)) != [None]


def test_exit_policy_requests_restart_at_once() -> None:
    guard, engine, restart = make(OomConfig(repeat_count=1, on_repeat=OomAction.EXIT))
    engine.arm(times=1)
    guard.infer(engine.infer, frames(2))
    assert restart.requested and guard.max_batch == 8


@pytest.mark.parametrize(("can_shrink", "restarts"), [(True, False), (False, True)])
def test_imgsz_policy(can_shrink: bool, restarts: bool) -> None:
    calls: list[int] = []

    def shrink() -> bool:
        calls.append(1)
        return can_shrink

    guard, engine, restart = make(
        OomConfig(repeat_count=1, on_repeat=OomAction.DEGRADE_IMGSZ), reduce_imgsz=shrink
    )
    engine.arm(times=1)
    guard.infer(engine.infer, frames(2))
    assert calls == [1] and restart.requested is restarts


def test_imgsz_policy_shrinks_the_engine_of_the_call_not_the_base_one() -> None:
    """A recipe's own engine ran out of memory: that one shrinks (the base engine is another)."""
    shrunk: list[str] = []
    guard, engine, restart = make(
        OomConfig(repeat_count=1, on_repeat=OomAction.DEGRADE_IMGSZ),
        reduce_imgsz=lambda: shrunk.append("base") is None,
    )
    engine.arm(times=1)
    guard.infer(engine.infer, frames(2), reduce_imgsz=lambda: shrunk.append("recipe") is None)
    assert shrunk == ["recipe"] and not restart.requested
    engine.arm(times=1)
    guard.infer(engine.infer, frames(2))  # a base-engine call: the base engine shrinks
    assert shrunk == ["recipe", "base"]


# The messages CUDA libraries give when an allocation fails outside torch's caching allocator
# (as reported in pytorch's and users' issue threads): torch raises them as plain RuntimeError,
# or torch.AcceleratorError (a RuntimeError) in newer versions.
LIBRARY_OOM_MESSAGES = [
    "CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported at some other API call",
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
]


class LibraryOomEngine(TinyEngine):
    """Fails the first ``times`` calls the way cuBLAS/cuDNN do, not as torch.cuda.OutOfMemoryError."""

    def __init__(self, error: BaseException, times: int) -> None:
        super().__init__()
        self.error, self.times = error, times

    def infer(self, frames: Sequence[np.ndarray]) -> list[float]:
        if self.times > 0:
            self.times -= 1
            raise self.error
        return super().infer(frames)


@pytest.mark.parametrize("message", LIBRARY_OOM_MESSAGES)
@pytest.mark.parametrize("kind", [RuntimeError, getattr(torch, "AcceleratorError", RuntimeError)])
def test_library_allocation_failures_take_the_oom_path(message: str, kind: type[Exception]) -> None:
    assert is_cuda_oom(kind(message))
    freed: list[int] = []
    restart = RestartRequest()
    guard = OomGuard(OomConfig(repeat_count=10), restart, 4, free_cache=lambda: freed.append(1))
    engine = LibraryOomEngine(kind(message), times=2)  # full batch and first half fail
    out = guard.infer(engine.infer, frames(4))
    assert out[:2] == [None, None] and all(v is not None for v in out[2:])
    assert guard.oom_events == 2 and guard.failsafe_frames == 2 and len(freed) == 2
    assert guard.infer(engine.infer, frames(4)) != [None] * 4  # recovered


def test_other_runtime_errors_are_not_taken_for_oom() -> None:
    error = RuntimeError("Given groups=1, weight of size [16, 3, 3, 3], expected input to have 3 channels")
    assert not is_cuda_oom(error) and not is_cuda_oom(ValueError("out of memory"))
    guard = OomGuard(OomConfig(), RestartRequest(), 4, free_cache=lambda: None)
    with pytest.raises(RuntimeError, match="expected input"):
        guard.infer(LibraryOomEngine(error, times=1).infer, frames(2))
    assert guard.oom_events == 0
