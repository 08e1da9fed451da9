"""Device selection, and the CUDA paths (FP16, channels_last, CUDA graphs, compile) where a GPU exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.runner import resolve_device
from inspector.errors import ModelError
from tests.support.reference import synthetic_image

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_auto_device_and_unavailable_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_cpu_engine_outputs_are_ordinary_tensors(tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.3, cpu_threads=1))
    assert engine.device.type == "cpu" and engine.precision == "fp32" and torch.get_num_threads() == 1
    (det,) = engine.infer([synthetic_image(200, 300, seed=5)])
    assert len(det) > 0 and det.masks.device.type == "cpu"
    det.masks.logical_not_()  # later stages may work in place: no inference-mode tensors leak out
    det.boxes.add_(1.0)


@needs_cuda
@pytest.mark.parametrize(
    "options",
    [{}, {"cuda_graphs": True}, {"channels_last": False}],
)
def test_cuda_fp16_matches_cpu_fp32(tiny_seg_checkpoint: Path, options: dict[str, bool]) -> None:
    images = [synthetic_image(240, 320, seed=240 * 320), synthetic_image(300, 200, seed=300 * 200)]
    cpu = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.5))
    gpu = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cuda", conf=0.5, **options))
    assert gpu.precision == "fp16"
    for _ in range(2):  # second round replays captured graphs
        for a, b in zip(cpu.infer(images), gpu.infer(images), strict=True):
            assert b.masks.device.type == "cuda" and b.masks.dtype == torch.bool
            assert abs(len(a) - len(b)) <= max(1, len(a) // 10)  # fp16 may flip borderline scores
            if len(a) and len(b):  # the top instances have a twin within 2 px (order may differ in fp16)
                dist = (a.boxes[:5, None] - b.boxes.cpu()[None]).abs().amax(-1)
                assert dist.amin(1).max() < 2.0


@needs_cuda
@pytest.mark.slow
def test_cuda_compile_runs(tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cuda", compile=True, conf=0.5))
    (det,) = engine.infer([synthetic_image(240, 320, seed=1)])
    assert det.masks.shape[-2:] == (240, 320)


def test_cpu_fast_paths_give_the_same_detections(tiny_seg_checkpoint: Path) -> None:
    images = [synthetic_image(240, 320, seed=240 * 320), synthetic_image(257, 413, seed=257 * 413)]
    fast = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.4))
    plain = load_engine(
        EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.4, cpu_freeze=False, channels_last=False)
    )
    assert fast.network.forward is not fast.network.module  # traced and frozen
    for a, b in zip(fast.infer(images), plain.infer(images), strict=True):
        assert len(a) == len(b) > 0
        assert (a.boxes - b.boxes).abs().max() < 0.05
        assert torch.equal(a.class_ids, b.class_ids)
        assert (a.masks != b.masks).sum() <= a.masks.sum() // 1000


def test_reduce_imgsz_shrinks_until_minimal(tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=tiny_seg_checkpoint, device="cpu", imgsz=128, warmup=0))
    assert engine.imgsz == (128, 128)
    assert engine.reduce_imgsz() and engine.imgsz == (96, 96)
    assert engine.reduce_imgsz() and engine.imgsz == (64, 64)
    assert not engine.reduce_imgsz() and engine.imgsz == (64, 64)
    (det,) = engine.infer([synthetic_image(90, 120, seed=2)])
    assert det.masks.shape[-2:] == (90, 120)
