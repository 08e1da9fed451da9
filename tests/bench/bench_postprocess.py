"""The whole line with and without its post-processing stage vs the raw network forward, on the
fastest CPU backend (OpenVINO bf16 — f32 on a CPU without bf16 —, rectangular input that fits the
frame).

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
from pathlib import Path

import torch

from inspector.app.bench import make_frames, on_worker, pipeline_fps
from inspector.app.demo import DEMO_CLASSES
from inspector.engine import EngineConfig, load_engine
from inspector.logging import LogConfig, configure_logging
from tests.bench.bench_backends import cpu_flags, cpu_has_bf16, cpu_name, export
from tests.bench.bench_families import demo_as_ultralytics


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
    precision = "bf16" if cpu_has_bf16() else "f32"
    config = EngineConfig(
        model=xml, device="cpu", cpu_threads=args.threads, backend="openvino",
        openvino={"precision": precision, "threads": args.threads},
    )  # fmt: skip
    engine = load_engine(config)
    engine.names = DEMO_CLASSES  # type: ignore[misc]  # the demo's class names, as the line's demo rules name them
    frames = make_frames(16, width, height, seed=5)
    inputs = [engine.to_input([f], engine.plans([f])) for f in frames]  # type: ignore[union-attr]
    counts = [len(d) for f in frames for d in engine.infer([f])]
    print(
        f"CPU: {cpu_name()} ({cpu_flags()}), {os.cpu_count()} cores; forward threads {args.threads}; "
        f"torch {torch.__version__}; OpenVINO {precision}; frames {width}x{height}, "
        f"{statistics.mean(counts):.1f} instances each; {args.frames} frames x {args.rounds} rounds"
    )  # fmt: skip

    def forwards() -> None:
        with torch.inference_mode():
            for i in range(args.frames):
                engine.run_network(inputs[i % len(inputs)])  # type: ignore[union-attr]

    def infers() -> None:
        for i in range(args.frames):
            engine.infer([frames[i % len(frames)]])

    def line(two_step: bool) -> float:  # timed from the start of the built line to its last verdict
        return pipeline_fps(engine, frames, args.frames, 1, two_step, time_build=False)[0]

    runs: dict[str, list[float]] = {"raw forward": [], "engine.infer": [], "line, one step": [],
                                    "line, post stage": []}  # fmt: skip
    for r in range(args.rounds):
        runs["raw forward"].append(on_worker(forwards, args.frames)[0])
        runs["engine.infer"].append(on_worker(infers, args.frames)[0])
        runs["line, one step"].append(line(two_step=False))
        runs["line, post stage"].append(line(two_step=True))
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
