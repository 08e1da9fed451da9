"""Benchmark: features + rules for 50 instances on 1920x1080 masks (issue 5).

Target: <= 5 ms per frame on CPU. Prints medians per scenario and the ratio to a
baseline that measures the same features naively (OpenCV on each full-frame
mask, areas summed over the full mask), side by side.

    PYTHONPATH=. python tests/bench/bench_rules.py [--device cpu|cuda] [--frames 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

import cv2
import numpy as np
import torch

from inspector.messages import Detections
from inspector.rules import RulesConfig, build_verdicts
from inspector.rules.features import Feature

H, W = 1080, 1920
NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")
DEFECTS = ["solder_bridge", "insufficient_solder", "excess_solder", "missing_joint"]


def make_board(n: int, seed: int, device: str) -> Detections:
    """n instances on a grid: disks, rings, rotated bars; about one in five a defect class."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, H, W), bool)
    boxes, classes = [], []
    for i in range(n):
        cx, cy = 120 + (i % 10) * 170 + int(rng.integers(-20, 20)), 150 + (i // 10) * 190
        canvas = np.zeros((H, W), np.uint8)
        kind = i % 3
        if kind == 0:
            cv2.circle(canvas, (cx, cy), int(rng.integers(10, 30)), 1, -1)
        elif kind == 1:
            cv2.circle(canvas, (cx, cy), 28, 1, -1)
            cv2.circle(canvas, (cx, cy), 10, 0, -1)
        else:
            corners = cv2.boxPoints(((cx, cy), (70, 18), float(rng.integers(0, 180))))
            cv2.fillPoly(canvas, [np.round(corners).astype(np.int32)], 1)
        masks[i] = canvas > 0
        ys, xs = np.nonzero(canvas)
        boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
        classes.append(0 if rng.random() > 0.2 else int(rng.integers(1, 5)))
    return Detections(
        boxes=torch.tensor(boxes, dtype=torch.float32, device=device),
        scores=torch.tensor(rng.uniform(0.3, 1.0, n), dtype=torch.float32, device=device),
        class_ids=torch.tensor(classes, dtype=torch.int64, device=device),
        masks=torch.from_numpy(masks).to(device),
        names=NAMES,
    )


DEMO: dict[str, Any] = {"defect": {"kind": "presence", "code": 1, "classes": DEFECTS, "min_score": 0.5}}
TYPICAL: dict[str, Any] = {
    **DEMO,
    "joint_small": {"kind": "instance", "code": 2, "classes": ["good_joint"], "area_mm2": {"lt": 0.35}},
    "joint_shape": {
        "kind": "instance",
        "code": 3,
        "classes": ["good_joint"],
        "circularity": {"lt": 0.5},
        "holes": {"gt": 1},
    },
    "joint_count": {"kind": "count", "code": 4, "classes": ["good_joint"], "count": {"ne": 40}},
    "joint_gap": {"kind": "distance", "code": 5, "classes": ["good_joint"], "distance_px": {"lt": 10}},
    "in_board": {"kind": "zone", "code": 6, "zone": "board", "classes": ["good_joint"], "must_be": "inside"},
    "burst": {"kind": "history", "code": 7, "window": 20, "max_rejects": 5},
}
EVERY_FEATURE: dict[str, Any] = {
    "all": {
        "kind": "instance",
        "code": 1,
        "classes": list(NAMES),
        **{f.value: {"lt": -1e9} for f in Feature},
    }
}


def config(rules: dict[str, Any]) -> RulesConfig:
    return RulesConfig(
        calibration={"px_per_mm": 20.0},
        zones={"board": {"polygon": [[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]]}},
        rules=rules,
    )


def naive_features(det: Detections) -> float:
    """Baseline: every feature of every instance from its full-frame mask."""
    total = 0.0
    for i in range(len(det)):
        full = np.ascontiguousarray(det.masks[i].cpu().numpy()).view(np.uint8)
        total += float(full.sum())
        m = cv2.moments(full, binaryImage=True)
        contours, _ = cv2.findContours(full, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        points = np.concatenate(contours).reshape(-1, 2)
        total += sum(cv2.arcLength(c, True) for c in contours) + m["m10"]
        total += cv2.contourArea(cv2.convexHull(points)) + cv2.minAreaRect(points)[1][0]
        total += cv2.boundingRect(full)[2]
    return total


def median_ms(fn: Any, frames: int, sync: bool) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds per call. On a shared machine the CPU
    time leaves out the time this process waited for a core."""
    fn()  # warm
    wall, cpu = [], []
    for _ in range(frames):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if sync:
            torch.cuda.synchronize()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (one rules thread)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    det = make_board(50, seed=1, device=args.device)
    sync = args.device.startswith("cuda")
    print(
        f"device={args.device} torch={torch.__version__} opencv={cv2.__version__} numpy={np.__version__} "
        f"python={platform.python_version()} cpu={platform.processor() or platform.machine()} "
        f"torch_threads={args.threads} instances={len(det)} masks={W}x{H}"
    )
    baseline, baseline_cpu = median_ms(lambda: naive_features(det), max(5, args.frames // 4), sync)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'scenario':<34}{'wall ms/frame':>14}{'cpu ms/frame':>14}{'speed-up vs naive (cpu)':>26}")
    print(f"{'naive: all features, full frame':<34}{baseline:>14.2f}{baseline_cpu:>14.2f}{1.0:>25.1f}x")
    for label, rules in [
        ("demo rule (presence only)", DEMO),
        ("typical: 7 rules", TYPICAL),
        ("every feature of all 50", EVERY_FEATURE),
    ]:
        maker = build_verdicts(config(rules))
        ms, cpu_ms = median_ms(lambda m=maker: m.evaluate(det, "cam0"), args.frames, sync)
        print(f"{label:<34}{ms:>14.2f}{cpu_ms:>14.2f}{baseline_cpu / cpu_ms:>25.1f}x")


if __name__ == "__main__":
    main()
