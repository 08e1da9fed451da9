"""``inspector bench``: pipeline throughput vs the engine's raw forward throughput."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from inspector.app.bench import describe, make_frames, run_bench
from inspector.app.demo import demo_model
from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError
from inspector.logging import LogConfig, configure_logging

TARGET_RATIO = 0.95


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="measure pipeline vs raw engine throughput (medians and ratio)")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped demo model)")
    parser.add_argument("--frames", type=int, default=64, help="frames per run (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--batch", type=int, default=1, help="batch size for both (default 1)")
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (both sides)")
    parser.add_argument("--imgsz", type=int, default=None, help="network input size (default: model's)")
    parser.add_argument(
        "--postprocess-stage",
        action="store_true",
        help="the pipeline with runtime.postprocess_stage (NMS and masks in a stage of their own)",
    )
    parser.set_defaults(handler=handle)


def parse_size(text: str) -> tuple[int, int]:
    """WxH as two ints in 32..8192 (the synthetic frames' bounds); a ConfigError otherwise."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r} is not WxH (e.g. 640x480)") from None
    if not (32 <= width <= 8192 and 32 <= height <= 8192):
        raise ConfigError(f"--size {text!r}: width and height must be 32..8192")
    return width, height


def handle(args: argparse.Namespace) -> int:
    if args.frames < 1 or args.repeats < 1 or args.batch < 1:
        raise ConfigError("--frames, --repeats and --batch must be at least 1")
    width, height = parse_size(args.size)
    import torch

    from inspector.app.parts import build_engine

    configure_logging(LogConfig(format="console", level="warning"))
    if args.threads:
        torch.set_num_threads(args.threads)
    model, stand_in = demo_model(args.model)
    engine_cfg = {
        "model": str(model),
        "device": args.device,
        "imgsz": args.imgsz,
        "cpu_threads": args.threads,
    }
    engine = build_engine(InspectorConfig(engine=engine_cfg))
    frames = make_frames(min(args.frames, 32), width, height)
    print(describe(model, engine, torch.get_num_threads(), frames, args.batch, args.frames))
    if stand_in:
        print("  (stand-in model with random weights: throughput is real, detections are not)")
    if args.postprocess_stage:
        print("  pipeline with runtime.postprocess_stage: true")
    result = run_bench(engine, frames, args.frames, args.batch, args.repeats, two_step=args.postprocess_stage)
    for label, median, runs in (
        ("raw engine", result.raw_median, result.raw_fps),
        ("pipeline", result.pipeline_median, result.pipeline_fps),
    ):
        print(f"{label:<12} median {median:8.2f} fps  runs {[round(v, 2) for v in runs]}")
    print(
        f"CPU ms/frame raw {statistics.median(result.raw_cpu_ms):.1f}, pipeline "
        f"{statistics.median(result.pipeline_cpu_ms):.1f} (ratio {result.cpu_ratio:.3f})"
    )
    verdict = "meets" if result.ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio        {result.ratio:.3f} (pipeline / raw; target >= {TARGET_RATIO}: {verdict})")
    return 0
