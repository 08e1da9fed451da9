"""``inspector synth``: write synthetic PCB boards with YOLO-seg ground truth.

    inspector synth --out DIR --count N --seed S [--size WxH]

writes ``DIR/images/*.png``, ``DIR/labels/*.txt`` (YOLO-seg polygons),
``DIR/meta/*.json`` (classes, mask areas, reject) and ``DIR/data.yaml``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError

MAX_SIDE = 8192


def parse_size(text: str) -> tuple[int, int]:
    """``640x480`` -> (640, 480); a clear error for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InspectorError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480")
    width, height = int(match[1]), int(match[2])
    if not (64 <= width <= MAX_SIDE and 64 <= height <= MAX_SIDE):
        raise InspectorError(f"--size {text!r}: each side must be between 64 and {MAX_SIDE} pixels")
    return width, height


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(
        name,
        help="write synthetic PCB boards with YOLO-seg ground truth",
        description="Write synthetic PCB solder-joint boards: images, YOLO-seg labels, data.yaml, JSON.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    parser.add_argument("--count", type=int, required=True, help="number of boards to write")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (same seed, same boards)")
    parser.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT (default 640x480)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from inspector.synth import BoardGenerator
    from inspector.synth.export import write_dataset

    size = parse_size(args.size)
    if args.count < 1:
        raise InspectorError(f"--count {args.count}: must be at least 1")
    if args.seed < 0:
        raise InspectorError(f"--seed {args.seed}: must be 0 or more")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InspectorError(f"--out {out}: exists and is not a directory")
    try:
        written = write_dataset(BoardGenerator(size, args.seed), out, args.count)
    except OSError as exc:
        raise InspectorError(f"--out {out}: cannot write: {exc}") from exc
    print(f"wrote {written} boards ({size[0]}x{size[1]}, seed {args.seed}) to {out}")
    return 0
