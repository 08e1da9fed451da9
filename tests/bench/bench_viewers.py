"""The page must not slow the line: `pipeline / raw forward` with two live viewers vs without.

    PYTHONPATH=. python tests/bench/bench_viewers.py [--model M] [--frames 160] [--repeats 3]
        [--size 640x480] [--threads 2] [--viewers 2]

Each repeat runs, back to back on the same engine and frames: the raw forward pass alone, the
line with the page on and nobody watching, and the line with ``--viewers`` live MJPEG streams
read by a separate process (as a browser would be). The figure is the ratio of the two
pipeline/raw ratios (target >= 0.95). Record the printed lines in tests/bench/RESULTS.md.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # as bench_pipeline.py: before torch loads

import argparse
import http.client
import signal
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def view(port: int, streams: int) -> None:
    """The viewer process: ``streams`` live streams read as fast as they come; prints pictures read."""
    counts = [0] * streams
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def read(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/stream/live/bench")
        reply = conn.getresponse()
        while not stop.is_set():
            line = reply.fp.readline()
            if not line:
                return
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                while reply.fp.readline() not in (b"\r\n", b""):
                    pass
                reply.fp.read(length)
                counts[i] += 1

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    print("ready", flush=True)
    while not stop.wait(0.1):
        pass
    print(sum(counts), flush=True)


def pipeline_run(engine: Any, frames: list[np.ndarray], total: int, viewers: int) -> tuple[float, float, int]:
    """fps and CPU ms/frame of the whole line with the page on, and the pictures the viewers got."""
    from inspector.app.app import App
    from inspector.app.bench import bench_config
    from inspector.app.compose import LineParts, build_line
    from inspector.app.outputs import CountingOutput
    from inspector.health.config import HealthConfig
    from inspector.sources.config import SyntheticSourceConfig
    from inspector.sources.synthetic import SyntheticSource

    height, width = frames[0].shape[:2]
    config = bench_config(total, 1, width, height).model_copy(
        update={"health": HealthConfig(http=True, http_port=0)}
    )
    src_cfg = config.sources[0]
    assert isinstance(src_cfg, SyntheticSourceConfig)
    source = SyntheticSource(src_cfg, frames=lambda i: frames[i % len(frames)])
    c0, t0 = time.process_time(), time.perf_counter()
    app = App(build_line(config, LineParts(engine=engine, outputs=[CountingOutput()]), {"bench": source}))
    app.start()
    assert app.line.watch.http is not None
    watcher = None
    if viewers:
        cmd = [sys.executable, __file__, "--view", str(app.line.watch.http.port), "--viewers", str(viewers)]
        watcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert watcher.stdout is not None and watcher.stdout.readline().strip() == "ready"
    app.line.delivery.join(timeout=3600)
    elapsed = time.perf_counter() - t0
    cpu_ms = (time.process_time() - c0) * 1000.0 / total
    pictures = 0
    if watcher is not None:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=30)
        pictures = int(out.split()[-1]) if out.split() else 0
    app.stop(deadline_s=10.0)
    return total / elapsed, cpu_ms, pictures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--frames", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--viewers", type=int, default=2)
    parser.add_argument("--view", type=int, help=argparse.SUPPRESS)  # the viewer process
    args = parser.parse_args()
    if args.view:
        view(args.view, args.viewers)
        return 0
    import torch

    from inspector.app.bench import describe, make_frames, raw_fps
    from inspector.app.demo import demo_model
    from inspector.app.parts import build_engine
    from inspector.cli.bench import parse_size
    from inspector.config.settings import InspectorConfig
    from inspector.logging import LogConfig, configure_logging

    configure_logging(LogConfig(format="console", level="warning"))
    torch.set_num_threads(args.threads)
    model, _ = demo_model(args.model)
    engine = build_engine(InspectorConfig(engine={"model": str(model), "cpu_threads": args.threads}))
    frames = make_frames(32, *parse_size(args.size))
    print(describe(model, engine, torch.get_num_threads(), frames, 1, args.frames))
    raw_fps(engine, frames, 2, 1)  # warm-up on a worker thread
    rows: dict[str, list[tuple[float, float]]] = {"raw": [], "idle": [], "viewed": []}
    for i in range(args.repeats):
        rows["raw"].append(raw_fps(engine, frames, args.frames, 1))
        fps, cpu, _ = pipeline_run(engine, frames, args.frames, 0)
        rows["idle"].append((fps, cpu))
        fps, cpu, pictures = pipeline_run(engine, frames, args.frames, args.viewers)
        rows["viewed"].append((fps, cpu))
        print(
            f"  run {i + 1}: raw {rows['raw'][-1][0]:.2f} fps, page idle {rows['idle'][-1][0]:.2f}, "
            f"{args.viewers} viewers {fps:.2f} fps ({pictures} pictures streamed)"
        )
    med = {
        k: (statistics.median(v[0] for v in r), statistics.median(v[1] for v in r)) for k, r in rows.items()
    }
    for name, (fps, cpu) in med.items():
        print(f"{name:<7} median {fps:7.2f} fps  CPU {cpu:6.1f} ms/frame")
    idle_ratio, viewed_ratio = med["idle"][0] / med["raw"][0], med["viewed"][0] / med["raw"][0]
    figure = viewed_ratio / idle_ratio
    print(f"pipeline/raw: no viewers {idle_ratio:.3f}, {args.viewers} viewers {viewed_ratio:.3f}")
    print(f"with viewers / without: {figure:.3f} (target >= 0.95: {'meets' if figure >= 0.95 else 'BELOW'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
