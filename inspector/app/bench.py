"""Pipeline throughput vs the engine's raw forward throughput, same model, same frames.

The line's stages overlap (threads, bounded queues), so the pipeline should run
close to the engine alone; the ratio says how close.
"""

from __future__ import annotations

import functools
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inspector.app.app import App
from inspector.app.compose import LineParts, build_line
from inspector.app.demo import DEMO_CONFIG
from inspector.app.interfaces import InferenceEngine
from inspector.app.outputs import CountingOutput
from inspector.config.settings import InspectorConfig
from inspector.sources.config import SyntheticSourceConfig
from inspector.sources.synthetic import SyntheticSource, pcb_scene


@dataclass(frozen=True)
class BenchResult:
    raw_fps: list[float]
    pipeline_fps: list[float]
    raw_cpu_ms: list[float]  # process CPU time per frame (all threads): steadier than wall on a busy host
    pipeline_cpu_ms: list[float]

    @property
    def cpu_ratio(self) -> float:
        """Pipeline CPU per frame / raw CPU per frame (what the extra stages cost)."""
        return statistics.median(self.pipeline_cpu_ms) / statistics.median(self.raw_cpu_ms)

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_fps)

    @property
    def pipeline_median(self) -> float:
        return statistics.median(self.pipeline_fps)

    @property
    def ratio(self) -> float:
        return self.pipeline_median / self.raw_median


def make_frames(count: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` synthetic PCB frames, generated before timing starts."""
    render = pcb_scene(width, height, seed)
    return [render(i) for i in range(count)]


def raw_fps(engine: InferenceEngine, frames: list[np.ndarray], total: int, batch: int) -> tuple[float, float]:
    """Frames per second of ``engine.infer`` alone, called back to back (and CPU ms per frame)."""

    def forward_loop() -> None:
        done = 0
        while done < total:
            n = min(batch, total - done)
            engine.infer([frames[(done + k) % len(frames)] for k in range(n)])
            done += n

    return on_worker(forward_loop, total)


def on_worker(loop: Callable[[], object], total: int) -> tuple[float, float]:
    """Frames per second of ``loop`` (``total`` frames) and process CPU ms per frame.

    It runs on a worker thread like the pipeline's stages: with OpenMP's default (active) wait
    policy on an oversubscribed CPU, the main thread measured several times slower.
    """
    elapsed: list[float] = []

    def timed() -> None:
        t0 = time.perf_counter()
        loop()
        elapsed.append(time.perf_counter() - t0)

    worker = threading.Thread(target=timed, name="bench-raw")
    c0 = time.process_time()
    worker.start()
    worker.join()
    if not elapsed:
        raise RuntimeError("the raw engine run failed (see the error above)")
    return total / elapsed[0], (time.process_time() - c0) * 1000.0 / total


def bench_config(total: int, batch: int, width: int, height: int, two_step: bool = False) -> InspectorConfig:
    return InspectorConfig(
        sources=[{"kind": "synthetic", "id": "bench", "width": width, "height": height, "count": total}],
        rules=DEMO_CONFIG["rules"],
        runtime={
            "batch_size": batch,
            "batch_max_wait_ms": 1.0,
            "postprocess_stage": two_step,
            "frames_queue": {"size": 2 * batch + 2, "overflow": "block"},
            "preprocessed_queue": {"size": 2 * batch + 2},
            "log_inspections": False,
            "stats_interval_s": 3600,
        },
    )


def pipeline_fps(
    engine: InferenceEngine,
    frames: list[np.ndarray],
    total: int,
    batch: int,
    two_step: bool = False,
    time_build: bool = True,
) -> tuple[float, float]:
    """Frames per second through the whole line (capture → preprocess → infer → rules → output);
    ``two_step``: with its post-processing stage (``runtime.postprocess_stage``); ``time_build``:
    the build (warm-up included) is timed, as it always was; False: from the start of the built line."""
    height, width = frames[0].shape[:2]
    config = bench_config(total, batch, width, height, two_step)
    src_cfg = config.sources[0]
    assert isinstance(src_cfg, SyntheticSourceConfig)
    source = SyntheticSource(src_cfg, frames=lambda i: frames[i % len(frames)])
    c0 = time.process_time()
    t0 = time.perf_counter()
    app = App(build_line(config, LineParts(engine=engine, outputs=[CountingOutput()]), {"bench": source}))
    if not time_build:
        c0, t0 = time.process_time(), time.perf_counter()
    app.start()
    app.line.delivery.join(timeout=3600)  # it ends once the last frame is out
    elapsed = time.perf_counter() - t0
    cpu_ms = (time.process_time() - c0) * 1000.0 / total
    app.stop(deadline_s=10.0)
    frames_out = app.line.stats.total()["frames"]
    if frames_out != total:
        raise RuntimeError(f"pipeline delivered {frames_out} of {total} frames")
    return total / elapsed, cpu_ms


def run_bench(
    engine: InferenceEngine,
    frames: list[np.ndarray],
    total: int,
    batch: int,
    repeats: int,
    report: Callable[[str], Any] = print,
    two_step: bool = False,
) -> BenchResult:
    """Alternate raw and pipeline runs ``repeats`` times (so drift hits both alike); ``two_step``:
    the pipeline with its post-processing stage."""
    raw: list[float] = []
    pipe: list[float] = []
    raw_cpu: list[float] = []
    pipe_cpu: list[float] = []
    engine.infer(frames[:batch])  # warm-up at this batch size
    raw_fps(engine, frames, batch, batch)  # and on a worker thread
    for i in range(repeats):
        line = functools.partial(pipeline_fps, two_step=two_step)
        for fps_list, cpu_list, measure in ((raw, raw_cpu, raw_fps), (pipe, pipe_cpu, line)):
            fps, cpu_ms = measure(engine, frames, total, batch)
            fps_list.append(fps)
            cpu_list.append(cpu_ms)
        report(
            f"  run {i + 1}/{repeats}: raw {raw[-1]:.2f} fps ({raw_cpu[-1]:.1f} CPU ms/frame), "
            f"pipeline {pipe[-1]:.2f} fps ({pipe_cpu[-1]:.1f} CPU ms/frame)"
        )
    return BenchResult(raw, pipe, raw_cpu, pipe_cpu)


def describe(model: Path, engine: Any, threads: int, frames: list[np.ndarray], batch: int, total: int) -> str:
    import platform

    import torch

    height, width = frames[0].shape[:2]
    scale = getattr(getattr(engine, "info", None), "scale", "?")
    return (
        f"model {model.name} ({scale}), device {engine.device}, "
        f"torch {torch.__version__}, {threads} torch threads, python {platform.python_version()}, "
        f"frames {width}x{height}, batch {batch}, {total} frames per run, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"
    )
