"""Per-frame time of the inspector engine vs ultralytics predict, same checkpoint, images, threads.

    PYTHONPATH=. python tests/bench/bench_engine.py [--scale n] [--imgsz 640] [--threads 1] [--frames 30]

Prints medians (ms/frame) and the ratio ours/ultralytics. ultralytics predict is run with
``retina_masks`` both off (its default: masks at network-input size) and on (masks at the
original size, which is what the engine always returns). On CUDA (when available) it also
times FP16 batches of 1 and 8 for throughput.
"""

from __future__ import annotations

import argparse
import functools
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from tests.support.reference import build_checkpoint, synthetic_image, yolo

T = TypeVar("T")


def median_ms(run: Callable[[], object], frames: int, warmup: int = 3, per_call: int = 1) -> float:
    return median_wall_cpu_ms(run, frames, warmup, per_call)[0]


def median_wall_cpu_ms(
    run: Callable[[], object], frames: int, warmup: int = 3, per_call: int = 1
) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds per frame. On a shared machine CPU time leaves out
    the time spent waiting for a core, so it is the steadier figure for single-threaded runs."""
    for _ in range(warmup):
        run()
    wall, cpu = [], []
    for _ in range(frames):
        wall_ms, cpu_ms, _ = timed(run)
        wall.append(wall_ms / per_call)
        cpu.append(cpu_ms / per_call)
    return statistics.median(wall), statistics.median(cpu)


def timed(run: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and process-CPU milliseconds of one call, and what it returned."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, out


def cpu_comparison(ckpt: Path, images: list[np.ndarray], args: argparse.Namespace) -> None:
    from inspector.engine import EngineConfig, load_engine

    engine = load_engine(EngineConfig(model=ckpt, device="cpu", imgsz=args.imgsz, cpu_threads=args.threads))
    reference = yolo(ckpt)
    reference.predict(images[0], imgsz=args.imgsz, device="cpu", verbose=False)  # builds the predictor
    torch.set_num_threads(args.threads)  # ultralytics resets it; both sides run with the same count
    counter = iter(range(10**9))

    def ours() -> object:
        return engine.infer([images[next(counter) % len(images)]])

    def theirs(retina: bool) -> Callable[[], object]:
        def run() -> object:
            image = images[next(counter) % len(images)]
            return reference.predict(
                image, imgsz=args.imgsz, device="cpu", retina_masks=retina, verbose=False
            )

        return run

    runs = {
        "inspector engine": ours,
        "ultralytics predict": theirs(False),
        "ultralytics retina_masks": theirs(True),
    }
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.rounds):  # interleaved rounds: a busy neighbour affects both sides alike
        for name, run in runs.items():
            rounds[name].append(median_wall_cpu_ms(run, args.frames))
    print(f"CPU, {args.threads} thread(s), yolov8{args.scale}-seg, imgsz {args.imgsz}, images {args.size}")
    print(f"  {'':26} {'wall ms':>9} {'cpu ms':>9} {'ratio wall':>11} {'ratio cpu':>10}")
    base_wall, base_cpu = (statistics.median(v) for v in zip(*rounds["inspector engine"], strict=True))
    for name, values in rounds.items():
        wall, cpu = (statistics.median(v) for v in zip(*values, strict=True))
        print(f"  {name:26} {wall:9.2f} {cpu:9.2f} {base_wall / wall:11.3f} {base_cpu / cpu:10.3f}")
    print("  (ratio = engine / row: below 1 means the engine is faster)")


def cuda_throughput(ckpt: Path, images: list[np.ndarray], args: argparse.Namespace) -> None:
    from inspector.engine import EngineConfig, load_engine

    reference = yolo(ckpt)
    for batch in (1, 8):
        frames = [images[i % len(images)] for i in range(batch)]
        engine = load_engine(EngineConfig(model=ckpt, device="cuda", imgsz=args.imgsz, half=True))
        predict = functools.partial(
            reference.predict, frames, imgsz=args.imgsz, half=True, device=0, batch=batch, verbose=False
        )
        ours = median_ms(functools.partial(engine.infer, frames), args.frames, per_call=batch)
        theirs = median_ms(predict, args.frames, per_call=batch)
        print(
            f"CUDA fp16 batch {batch}: engine {ours:.2f} ms/frame, ultralytics {theirs:.2f} ms/frame, "
            f"throughput x{theirs / ours:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="n", choices=list("nsmlx"))
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--size", default="480x640", help="frame HxW")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    images = [synthetic_image(h, w, seed=s) for s in range(8)]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = build_checkpoint(Path(tmp) / "bench.pt", scale=args.scale, imgsz=args.imgsz)
        print(
            f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
            f"python {platform.python_version()}"
        )
        cpu_comparison(ckpt, images, args)
        if torch.cuda.is_available():
            cuda_throughput(ckpt, images, args)
        else:
            print("CUDA: not available on this machine (GPU paths not measured)")


if __name__ == "__main__":
    main()
