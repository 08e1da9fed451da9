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
    parser = sub.add_parser(
        name,
        help="inspect, convert or export a segmentation model (YOLO*-seg, Mask R-CNN, SegFormer, DETR)",
    )
    actions = parser.add_subparsers(dest="model_action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="what a model file is: format, arch, scale, classes, input size")
    info.add_argument(
        "file", type=Path, help="model file (best.pt, inspector model, TorchScript, ONNX, OpenVINO IR)"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=handle_info)
    convert = actions.add_parser(
        "convert", help="write an ultralytics checkpoint in the inspector format (no pickled code)"
    )
    convert.add_argument("src", type=Path, help="ultralytics checkpoint (best.pt) or inspector model")
    convert.add_argument("dst", type=Path, help="output file")
    convert.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    convert.set_defaults(handler=handle_convert)
    register_export(actions)


EXPORT_FORMATS = ("onnx", "openvino", "tensorrt")
# ARCH_EXPORTERS (one model file), then FOLDER_EXPORTERS (sam: an encoder/decoder folder)
ARCH_CHOICES = ("maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "segformer", "detr", "sam")


def register_export(actions: Any) -> None:
    export = actions.add_parser(
        "export",
        help="write a model for another backend (ONNX Runtime, OpenVINO, TensorRT), checked against it",
    )
    export.add_argument(
        "src",
        type=Path,
        help="ultralytics checkpoint (best.pt) or inspector model; with --arch a torchvision Mask R-CNN "
        "state_dict (.pth) or a transformers checkpoint folder",
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="what to write")
    export.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: beside SRC)")
    export.add_argument(
        "--imgsz",
        default=None,
        help="fixed input: SIDE (square) or H,W (default: the trained size; see --frame)",
    )
    export.add_argument(
        "--frame",
        default=None,
        metavar="WxH",
        help="the camera's frame size: a rectangular input that fits it (long side --imgsz)",
    )
    export.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="the line's config: --frame from its sources' configured frame size",
    )
    export.add_argument("--batch", type=int, default=1, help="fixed batch size (default 1)")
    export.add_argument("--half", action="store_true", help="fp16 (TensorRT; OpenVINO f16 weights)")
    export.add_argument("--int8", action="store_true", help="int8 post-training quantisation (needs --calib)")
    export.add_argument("--calib", type=Path, default=None, help="folder of the line's own images for --int8")
    export.add_argument(
        "--end2end", choices=("auto", "true", "false"), default="auto", help="YOLO26: the one-to-one head"
    )
    export.add_argument(
        "--arch",
        choices=ARCH_CHOICES,
        default=None,
        help="a source that is not a YOLO checkpoint: torchvision Mask R-CNN state_dict, transformers folder "
        "(SegFormer, DETR panoptic): onnx or openvino; sam: a SAM-family .pt → an encoder/decoder ONNX "
        "folder (engine.refine)",
    )
    export.add_argument("--names", default=None, help="class names in id order, comma-separated (--arch)")
    export.add_argument(
        "--setting",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="--arch maskrcnn_*: a torchvision test-time setting the model was evaluated with, e.g. "
        "box_detections_per_img=200 or rpn_post_nms_top_n_test=300 (repeatable; default torchvision's)",
    )
    export.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    export.set_defaults(handler=handle_export)


def describe(path: Path) -> dict[str, Any]:
    """A checkpoint is read as the torch loader reads it; an export is opened on the CPU by the
    backend that runs it (a TensorRT engine needs its GPU)."""
    import torch

    from inspector.engine.archs.registry import open_arch_engine
    from inspector.engine.backends.registry import open_network
    from inspector.engine.config import EngineConfig
    from inspector.engine.formats import FileKind, sniff
    from inspector.engine.loaders import load_model
    from inspector.engine.refine import is_sam_pair, read_pair

    if is_sam_pair(path):  # an exported SAM-family encoder/decoder folder (engine.refine)
        return read_pair(path).as_dict()
    if sniff(path) is FileKind.TORCH:
        return load_model(path).info.as_dict()
    config = EngineConfig(model=path, device="cpu")
    arch_engine = open_arch_engine(path, config, torch.device("cpu"))
    if arch_engine is not None:
        return {**arch_engine.info.as_dict(), "backend": arch_engine.backend}
    network, choice = open_network(path, EngineConfig(model=path, device="cpu"), torch.device("cpu"))
    return {**network.info.as_dict(), "backend": choice.name}


def quiet_logs() -> None:
    """Warnings and errors to stderr: stdout is the command's own answer (``--json``)."""
    import sys

    from inspector.logging import LogConfig, configure_logging

    configure_logging(LogConfig(format="console", level="warning"), stream=sys.stderr)


def handle_info(args: argparse.Namespace) -> int:
    quiet_logs()
    info = describe(args.file)
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


def handle_export(args: argparse.Namespace) -> int:
    from inspector.engine.export.options import export_request
    from inspector.engine.export.registry import ARCH_EXPORTERS, EXPORTERS, FOLDER_EXPORTERS

    quiet_logs()
    if args.arch in FOLDER_EXPORTERS:
        return handle_folder_export(args)
    if args.config is not None and args.frame is None:
        args.frame = frame_of_line(args.config)
    request = export_request(args)
    exporter = ARCH_EXPORTERS.get(args.arch) if args.arch else EXPORTERS.get(args.format)
    if exporter is None:
        raise ModelError(f"export format {args.format} is not available in this inspector build")
    result = exporter(request)
    print(f"wrote {result.path} ({args.format}, {result.detail}, from {args.src})")
    if not args.arch:
        print(f"max abs diff of raw outputs vs the source model: {result.max_abs_diff:.3g}")
    for line in result.checks:
        print(line)
    return 0


def handle_folder_export(args: argparse.Namespace) -> int:
    from inspector.engine.export.registry import FOLDER_EXPORTERS

    result = FOLDER_EXPORTERS[args.arch](args)
    print(f"wrote {result.path} ({args.format}, {result.detail}, from {args.src})")
    print(f"max abs diff of raw outputs vs the source model: {result.max_abs_diff:.3g}")
    return 0


def frame_of_line(path: str) -> str:
    """``WxH`` every source of the line delivers, from their configured sizes (synthetic
    width/height, a camera's requested width/height, a GenICam sensor ROI)."""
    from inspector.cli.config_file import load_given_config
    from inspector.sources.config import CameraSourceConfig, SyntheticSourceConfig
    from inspector.sources.genicam.config import GenicamSourceConfig

    sizes: dict[str, str] = {}
    for i, source in enumerate(load_given_config(path).sources):
        size: tuple[int | None, int | None] = (None, None)
        if isinstance(source, (SyntheticSourceConfig, CameraSourceConfig)):
            size = (source.width, source.height)
        elif isinstance(source, GenicamSourceConfig) and source.roi is not None:
            size = (source.roi.width, source.roi.height)
        if size[0] and size[1]:
            sizes[f"sources.{i}"] = f"{size[0]}x{size[1]}"
    if not sizes:
        raise ModelError(f"--config {path}: no source configures its frame size; give --frame WxH")
    if len(set(sizes.values())) > 1:
        found = ", ".join(f"{key} {size}" for key, size in sizes.items())
        raise ModelError(
            f"--config {path}: the sources deliver different frame sizes ({found}); give --frame"
        )
    return next(iter(sizes.values()))
