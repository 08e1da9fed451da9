"""The whole line with and without its post-processing stage vs the raw network forward, on the
fastest CPU backend (OpenVINO bf16, rectangular input that fits the frame).

    PYTHONPATH=. python tests/bench/bench_postprocess.py [--frames 48] [--rounds 5]
        [--threads 2] [--size 640x480]

Same weights as ``bench_backends.py`` (the shipped demo model, exported by inspector with the
rectangular input of the frame), same synthetic PCB boards (~55 instances each). Per round,
interleaved, frames per second of:

* ``raw forward``: the network alone on ready inputs, back to back on a worker thread;
* ``engine.infer``: input, forward, NMS and masks back to back (what the inference stage runs);
* ``line, one step``: the whole line (capture → preprocess → infer → rules → output) as configured
  by default;
* ``line, post stage``: the same with ``runtime.postprocess_stage: true``.

``share`` = fps / raw forward fps (``pipeline / raw forward``). ``--threads`` sets the forward's
threads (OpenVINO ``threads`` and torch's): below the cores, the post-processing stage gets a core
the forward does not use. Medians of the rounds; record them in RESULTS.md with the CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from inspector.app.app import App
from inspector.app.bench import bench_config, make_frames
from inspector.app.compose import LineParts, build_line
from inspector.app.demo import DEMO_CLASSES
from inspector.app.outputs import CountingOutput
from inspector.engine import EngineConfig, load_engine
from inspector.engine.engine import Engine
from inspector.logging import LogConfig, configure_logging
from inspector.sources.config import SyntheticSourceConfig
from inspector.sources.synthetic import SyntheticSource
from tests.bench.bench_backends import cpu_flags, cpu_name, export
from tests.bench.bench_families import demo_as_ultralytics


def on_worker(total: int, call: object) -> float:
    """Frames per second of ``call(i)`` for i < total, run on a worker thread as a stage runs."""
    elapsed: list[float] = []

    def loop() -> None:
        t0 = time.perf_counter()
        for i in range(total):
            call(i)  # type: ignore[operator]
        elapsed.append(time.perf_counter() - t0)

    worker = threading.Thread(target=loop, name="bench-worker")
    worker.start()
    worker.join()
    return total / elapsed[0]


def line_fps(engine: Engine, frames: list[np.ndarray], total: int, two_step: bool) -> float:
    """Frames per second through the whole line, timed from its start (built and warm) to its last
    verdict: ``inspector.app.bench.pipeline_fps`` also times the build, a fixed cost per run."""
    height, width = frames[0].shape[:2]
    config = bench_config(total, 1, width, height, two_step)
    source_config = config.sources[0]
    assert isinstance(source_config, SyntheticSourceConfig)
    source = SyntheticSource(source_config, frames=lambda i: frames[i % len(frames)])
    app = App(build_line(config, LineParts(engine=engine, outputs=[CountingOutput()]), {"bench": source}))
    t0 = time.perf_counter()
    app.start()
    app.line.delivery.join(timeout=600)
    elapsed = time.perf_counter() - t0
    app.stop(deadline_s=10.0)
    if app.line.stats.total()["frames"] != total:
        raise RuntimeError(f"the line delivered {app.line.stats.total()['frames']} of {total} frames")
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=48, help="frames per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="the forward's threads")
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    args = parser.parse_args()
    configure_logging(LogConfig(format="console", level="warning"))
    width, height = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench-post-"))
    weights = demo_as_ultralytics(work / "demo.pt")
    imgsz = argparse.Namespace(imgsz=max(width, height))
    xml = export("openvino", weights, work / "rect" / "inspector.xml", imgsz, frame=(height, width))
    config = EngineConfig(
        model=xml, device="cpu", cpu_threads=args.threads, backend="openvino",
        openvino={"precision": "bf16", "threads": args.threads},
    )  # fmt: skip
    engine = load_engine(config)
    engine.names = DEMO_CLASSES  # type: ignore[misc]  # the demo's class names, as the line's demo rules name them
    frames = make_frames(16, width, height, seed=5)
    inputs = [engine.to_input([f], engine.plans([f])) for f in frames]  # type: ignore[union-attr]
    counts = [len(d) for f in frames for d in engine.infer([f])]
    print(f"CPU: {cpu_name()} ({cpu_flags()}), {os.cpu_count()} cores; forward threads {args.threads}; "
          f"torch {torch.__version__}; frames {width}x{height}, {statistics.mean(counts):.1f} instances "
          f"each; {args.frames} frames x {args.rounds} rounds")  # fmt: skip

    def forward(i: int) -> object:
        with torch.inference_mode():
            return engine.run_network(inputs[i % len(inputs)])  # type: ignore[union-attr]

    runs: dict[str, list[float]] = {"raw forward": [], "engine.infer": [], "line, one step": [],
                                    "line, post stage": []}  # fmt: skip
    for r in range(args.rounds):
        runs["raw forward"].append(on_worker(args.frames, forward))
        runs["engine.infer"].append(on_worker(args.frames, lambda i: engine.infer([frames[i % len(frames)]])))
        runs["line, one step"].append(line_fps(engine, frames, args.frames, two_step=False))
        runs["line, post stage"].append(line_fps(engine, frames, args.frames, two_step=True))
        raw = runs["raw forward"][-1]
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {v[-1]:.1f} fps ({v[-1] / raw:.2f})" for k, v in runs.items())
        )
    raw = statistics.median(runs["raw forward"])
    print("\n| run | median fps | ms/frame | share of raw forward (median of rounds) |")
    print("|---|---:|---:|---:|")
    for name, fps in runs.items():
        shares = [f / r for f, r in zip(fps, runs["raw forward"], strict=True)]
        med = statistics.median(fps)
        print(f"| {name} | {med:.1f} | {1000 / med:.1f} | {statistics.median(shares):.2f} |")
    print(f"(raw forward median {1000 / raw:.1f} ms)")


if __name__ == "__main__":
    main()
