"""``inspector model``: inspect a model file, or convert it to the project's safe format."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inspector.errors import ModelError

# FastSAM-s/x files are one-class YOLOv8-seg; nothing in them says FastSAM (ultralytics goes by
# the file name), so the family is reported as what the content shows, with this note.
FASTSAM_NOTE = (
    "one class: FastSAM checkpoints (FastSAM-s/x) are this architecture too and read the same; "
    "FastSAM's box/point prompts: segment --prompt-box/--prompt-point, engine.prompt"
)


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="inspect or convert a segmentation model file (YOLOv8/11/26-seg)")
    actions = parser.add_subparsers(dest="model_action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="what a model file is: format, arch, scale, classes, input size")
    info.add_argument("file", type=Path, help="model file (best.pt, inspector model, TorchScript)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=handle_info)
    convert = actions.add_parser(
        "convert", help="write an ultralytics checkpoint in the inspector format (no pickled code)"
    )
    convert.add_argument("src", type=Path, help="ultralytics checkpoint (best.pt) or inspector model")
    convert.add_argument("dst", type=Path, help="output file")
    convert.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    convert.set_defaults(handler=handle_convert)


def handle_info(args: argparse.Namespace) -> int:
    from inspector.engine.loaders import load_model

    info = load_model(args.file).info.as_dict()
    if info.get("arch") == "yolov8-seg" and len(info.get("names") or ()) == 1:
        info["note"] = FASTSAM_NOTE
    if args.json:
        print(json.dumps(info))
        return 0
    width = max(len(key) for key in info)
    for key, value in info.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        print(f"{key:<{width}}  {shown}")
    return 0


def handle_convert(args: argparse.Namespace) -> int:
    from inspector.engine.checkpoint import reason_of
    from inspector.engine.loaders import load_model, read_content, save_own

    if args.dst.is_dir():
        raise ModelError(f"{args.dst} is a directory; give the file to write")
    if args.dst.exists() and not args.force:
        raise ModelError(f"{args.dst} exists; pass --force to overwrite it")
    if args.dst.resolve() == args.src.resolve():
        raise ModelError("source and destination are the same file")
    if not args.dst.parent.is_dir():
        raise ModelError(f"cannot write {args.dst}: folder {args.dst.parent} does not exist")
    content, fmt = read_content(args.src)
    tmp = args.dst.with_name(args.dst.name + ".partial")
    try:
        save_own(content, tmp, source=f"{args.src.name} ({fmt})")
        load_model(tmp)  # prove the written file loads before it replaces anything
        tmp.replace(args.dst)
    except (OSError, RuntimeError) as exc:  # torch's writer raises RuntimeError for I/O failures
        raise ModelError(f"cannot write {args.dst}: {reason_of(exc)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    what = f"{content.arch} {content.scale}, {content.nc} classes"
    print(f"wrote {args.dst} ({what}, from {fmt} file {args.src})")
    return 0
