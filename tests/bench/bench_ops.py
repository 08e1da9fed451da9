"""Cost of staying up: the reject archive's write time, and the watchdog/health checks per tick.

Not a test (no timed assertions): prints medians so the figures can go in RESULTS.md.

    PYTHONPATH=. python tests/bench/bench_ops.py [--records 40] [--ticks 200]

* archive: one rejected 1280x960 synthetic PCB board (its joints as instance masks) →
  PNG image + overlay PNG + JSON, per PNG compression level (the writer thread's time per
  record; the line only pays
  ``submit``, a non-blocking queue put, also measured);
* health: one health evaluation (all probes) and one pass of each watchdog check;
* OOM guard: ``OomGuard.infer`` around a no-op infer vs the direct call (per-batch overhead).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from inspector.app.watch import LineView, LineWatch
from inspector.archive.config import ArchiveConfig
from inspector.archive.writer import ArchiveWriter
from inspector.health.config import HealthConfig
from inspector.messages import Detections, FrameMsg, Reason, Verdict, VerdictCode
from inspector.synth import BoardGenerator
from inspector.watchdog.config import OomConfig, WatchdogConfig
from inspector.watchdog.liveness import StageView
from inspector.watchdog.oom import OomGuard
from inspector.watchdog.restart import RestartRequest

NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")


def reject_frame(seq: int, h: int = 960, w: int = 1280) -> FrameMsg:
    """A synthetic PCB board (inspector.synth) with its ground-truth joints as the detections."""
    image, instances = BoardGenerator((w, h), seed=7).render(seq)
    masks = torch.from_numpy(np.stack([inst.mask for inst in instances]))
    det = Detections(
        boxes=torch.tensor([inst.bbox for inst in instances], dtype=torch.float32),
        scores=torch.full((len(instances),), 0.9),
        class_ids=torch.tensor([inst.class_id for inst in instances], dtype=torch.int64),
        masks=masks,
        names=NAMES,
    )
    verdict = Verdict(VerdictCode.REJECT, (Reason("defect", 1, "solder_bridge", 0, 0.9, 0.5),), (0.9,))
    return FrameMsg(seq, "cam0", time.monotonic(), image, seq, (("infer", 20.0),), det, verdict)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_archive(records: int) -> None:
    frames = [reject_frame(i) for i in range(records)]
    n = len(frames[0].detections or [])
    print(f"archive (1280x960 PCB, {n} instances): level | writer ms/record | MiB/record | submit µs")
    for level in (0, 1, 6):
        with tempfile.TemporaryDirectory() as d:
            writer = ArchiveWriter(
                ArchiveConfig(enabled=True, dir=Path(d), png_compression=level, min_free_mib=0)
            )
            writer.root.mkdir(exist_ok=True)
            writer.index.scan()
            times = []
            for msg in frames:
                t0 = time.perf_counter()
                writer._write_safely(msg)  # the writer thread's work, timed directly
                times.append((time.perf_counter() - t0) * 1000)
            mib = writer.index.used_bytes / records / 2**20
            submit = functools.partial(writer.submit, frames[0])  # the queue fills, then drops
            submit_us = median_ms(submit, 200) * 1000
        print(f"  {level} | {statistics.median(times):.1f} | {mib:.2f} | {submit_us:.1f}")


def bench_checks(ticks: int) -> None:
    counter = [0]
    stages = [StageView(f"s{i}", lambda: counter[0], lambda: 2, capacity=4) for i in range(5)]
    sup = LineWatch(WatchdogConfig(), HealthConfig(), LineView(stages=stages))
    checks = {
        "health tick (all probes)": sup.health.tick,
        "rss watchdog check": sup.rss.check,
        "liveness check (5 stages)": sup.liveness.check,
        "metrics render (/metrics)": sup.metrics.render,
    }
    print("checks: median µs per call")
    for name, fn in checks.items():
        print(f"  {name}: {median_ms(fn, ticks) * 1000:.1f}")
    guard = OomGuard(OomConfig(), RestartRequest(), 8)
    batch = [np.zeros((4, 4, 3), np.uint8)] * 4

    def infer(frames: list[np.ndarray]) -> list[int]:
        return [0] * len(frames)

    direct = median_ms(lambda: infer(batch), ticks * 10) * 1000
    guarded = median_ms(lambda: guard.infer(infer, batch), ticks * 10) * 1000
    print(f"  OomGuard.infer overhead per batch: {guarded - direct:.2f} µs (direct {direct:.2f} µs)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    bench_archive(args.records)
    bench_checks(args.ticks)


if __name__ == "__main__":
    main()
