"""``inspector synth``: write synthetic PCB boards with YOLO-seg ground truth.

    inspector synth --out DIR --count N --seed S [--size WxH]

writes ``DIR/images/*.png``, ``DIR/labels/*.txt`` (YOLO-seg polygons),
``DIR/meta/*.json`` (classes, mask areas, reject) and ``DIR/data.yaml``. A folder that is
not empty is refused: boards of an earlier run would stay and ``data.yaml`` would train on
them. ``--force`` deletes what synth writes (those three folders and ``data.yaml``) first.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError

MAX_SIDE = 8192
WRITTEN = ("images", "labels", "meta", "data.yaml")  # everything write_dataset puts in --out


class OutNotEmpty(InspectorError):
    """``--out`` holds files already; a usage error like argparse's (exit 2)."""

    exit_code = 2


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
    parser.add_argument(
        "--force",
        action="store_true",
        help="--out may be non-empty: delete its images/, labels/, meta/ and data.yaml first",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from inspector.cli.progress import Counter, StatusLine
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
    if out.is_dir() and any(out.iterdir()):
        if not args.force:
            raise OutNotEmpty(
                f"--out {out}: folder is not empty; its old boards would stay and data.yaml would "
                "include them. Use an empty folder, or --force to delete its images/, labels/, "
                "meta/ and data.yaml first"
            )
        clear_written(out)
    try:
        with StatusLine() as line:  # boards counted on stderr when it is a terminal
            counter = Counter(line, "writing boards", args.count)
            written = write_dataset(
                BoardGenerator(size, args.seed), out, args.count, lambda _: counter.advance()
            )
    except OSError as exc:
        raise InspectorError(f"--out {out}: cannot write: {exc}") from exc
    print(f"wrote {written} boards ({size[0]}x{size[1]}, seed {args.seed}) to {out}")
    return 0


def clear_written(out: Path) -> None:
    """Delete what an earlier ``inspector synth`` wrote in ``out``; leave anything else."""
    for name in WRITTEN:
        path = out / name
        try:
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
        except OSError as exc:
            raise InspectorError(f"--out {out}: cannot delete {path} (--force): {exc}") from exc
