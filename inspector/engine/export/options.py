"""The export command's options as an ``ExportRequest``; each bad option is one clear error."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.engine.export.registry import ExportRequest
from inspector.errors import ModelError

SUFFIX = {"onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}


def parse_imgsz(text: str | None) -> tuple[int, int] | None:
    """``640`` → (640, 640); ``480,640`` → (480, 640) (height, width)."""
    if text is None:
        return None
    try:
        sides = [int(v) for v in text.replace("x", ",").split(",")]
    except ValueError:
        raise ModelError(f"--imgsz {text!r}: expected SIDE or H,W in pixels, e.g. 640 or 480,640") from None
    if len(sides) not in (1, 2) or not all(32 <= v <= 4096 for v in sides):
        raise ModelError(f"--imgsz {text!r}: expected one or two sides from 32 to 4096")
    return (sides[0], sides[-1])


def parse_frame(text: str | None) -> tuple[int, int] | None:
    """``640x480`` (width x height, as cameras are described) → (480, 640) as (h, w)."""
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ModelError(f"--frame {text!r}: expected WxH, e.g. 640x480") from None
    if not (1 <= width <= 65536 and 1 <= height <= 65536):
        raise ModelError(f"--frame {text!r}: expected WxH, e.g. 640x480")
    return height, width


def output_path(args: argparse.Namespace) -> Path:
    default = args.src.with_name(args.src.name + SUFFIX[args.format]) if args.src.is_dir() else None
    out: Path = args.output or default or args.src.with_suffix(SUFFIX[args.format])
    if out.is_dir():
        raise ModelError(f"{out} is a directory; give the file to write")
    if out.exists() and not args.force:
        raise ModelError(f"{out} exists; pass --force to overwrite it")
    if not out.parent.is_dir():
        raise ModelError(f"cannot write {out}: folder {out.parent} does not exist")
    return out


def parse_names(text: str | None) -> tuple[str, ...] | None:
    """``a,b,c`` → ("a", "b", "c")."""
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise ModelError(
            f"--names {text!r}: expected distinct class names separated by commas, e.g. scratch,dent"
        )
    return names


def parse_settings(pairs: list[str] | None, arch: str | None) -> tuple[tuple[str, float], ...]:
    """``["box_detections_per_img=200", ...]`` → (("box_detections_per_img", 200.0), ...): names
    and ranges checked by the Mask R-CNN exporter's table (its only user)."""
    from inspector.engine.export.maskrcnn_settings import check_setting

    if not pairs:
        return ()
    if not (arch or "").startswith("maskrcnn_"):
        raise ModelError("--setting applies to --arch maskrcnn_resnet50_fpn[_v2] only")
    found: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not sep or value != value:
            raise ModelError(f"--setting {pair!r}: expected NAME=NUMBER, e.g. box_detections_per_img=200")
        found[name.strip()] = check_setting(name.strip(), value)
    return tuple(sorted(found.items()))


def export_request(args: argparse.Namespace) -> ExportRequest:
    if args.int8 and args.calib is None:
        raise ModelError("--int8 needs --calib DIR: a folder of the line's own images")
    if args.calib is not None and not args.calib.is_dir():
        raise ModelError(f"--calib {args.calib}: not a folder")
    if not 1 <= args.batch <= 64:
        raise ModelError(f"--batch {args.batch}: expected 1 to 64")
    return ExportRequest(
        source=args.src,
        output=output_path(args),
        imgsz=parse_imgsz(args.imgsz),
        frame=parse_frame(args.frame),
        batch=args.batch,
        half=args.half,
        int8_calib=args.calib if args.int8 else None,
        end2end=None if args.end2end == "auto" else args.end2end == "true",
        arch=getattr(args, "arch", None),
        settings=parse_settings(getattr(args, "setting", None), getattr(args, "arch", None)),
        names=parse_names(getattr(args, "names", None)),
        format=args.format,
    )
