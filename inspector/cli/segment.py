"""``inspector segment``: run the model on images, folders, quoted globs and videos, like ``yolo predict``.

Each image (each video frame) gives one result: a text line, or with ``--json`` one JSON object
per line (a video frame's also has ``frame``, its 0-based index). ``--save DIR`` writes one
annotated image per image and one annotated video per video (see ``segment_output``); an input
that cannot be segmented is reported on stderr in one line naming it and the rest go on.
Exit code: 0 all segmented, 1 some input failed, 2 bad options or nothing to segment.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2

from inspector.cli.progress import Counter, StatusLine, activity
from inspector.cli.segment_inputs import (
    BadInput,
    Input,
    Video,
    expand_inputs,
    load_image,
    prompt_box,
    prompt_point,
)
from inspector.cli.segment_output import Saver, VideoSaver, output_stems
from inspector.errors import ConfigError, InspectorError
from inspector.messages import Detections

DESCRIPTION = """\
Segment images, folders (their image and video files), quoted globs ('imgs/*.png', '**' for
subfolders) and video files. Each image, and each video frame, gives one result line.

--save DIR writes STEM_overlay.png per image (all instances: tinted masks, boxes, 'class score'
labels) and STEM_overlay.mp4 per video (annotated frames, mp4v). --save-masks adds
STEM_masks.png per image, or STEM_masks/FRAME.png per video frame: one label image where a
pixel is 0 (background) or k, the k-th instance of that result (its 'id'); overlaps go to the
higher score; 8-bit, 16-bit above 255 instances.

Images are converted to 8-bit BGR where that is plain: grayscale, an alpha channel, 16-bit
(scaled by the bits its data uses: 12-bit data in a 16-bit file stays bright). An input that
cannot be segmented (empty, truncated, not an image, over --max-megapixels) is reported in one
line on stderr naming it (with --json also as {"image": ..., "error": ...} on stdout) and the
others go on. Exit code: 0 all segmented, 1 some input failed, 2 bad options or nothing to do.
"""


class NothingToSegment(InspectorError):
    """No argument named a readable input; a usage error like argparse's (exit 2)."""

    exit_code = 2


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(
        name,
        help="segment images, folders, globs or videos with a segmentation model (YOLOv8/11/26-seg)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video, folder or quoted glob")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped demo model)")
    parser.add_argument("--conf", type=float, default=0.25, help="minimum score (default 0.25)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    parser.add_argument("--imgsz", type=int, help="network input size (default: the model's training size)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image or frame per line")
    parser.add_argument(
        "--save", type=Path, metavar="DIR", help="write one annotated image (video) per input"
    )
    parser.add_argument(
        "--save-masks", action="store_true", help="with --save: one instance label PNG per image or frame"
    )
    parser.add_argument(
        "--prompt-box",
        type=prompt_box,
        action="append",
        default=[],
        metavar="X1,Y1,X2,Y2",
        help="keep the one instance whose mask best overlaps (IoU) this box, in image pixels; repeatable",
    )
    parser.add_argument(
        "--prompt-point",
        type=prompt_point,
        action="append",
        default=[],
        metavar="X,Y[,LABEL]",
        help="keep instances under a label-1 point (the default label) and under no label-0 point; "
        "repeatable (with --prompt-box: the union of both selections)",
    )
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=40.0,
        help="refuse larger images: masks are kept at full size, H x W bytes each (default 40)",
    )
    parser.add_argument(
        "--refine",
        type=Path,
        metavar="SAM_DIR",
        help="refine the masks with a SAM-family pair from 'inspector model export --arch sam', each "
        "instance's box its prompt (after --prompt-box/--prompt-point selection)",
    )
    parser.add_argument(
        "--refine-classes", metavar="A,B", help="with --refine: only these class names (default: all)"
    )
    parser.add_argument(
        "--refine-max-parts", type=int, default=100, help="with --refine: most instances refined per image"
    )
    parser.add_argument(
        "--refine-backend", choices=("onnxruntime", "openvino"), default="onnxruntime", help="with --refine"
    )
    parser.set_defaults(handler=handle)


def refine_config(args: argparse.Namespace, names: Sequence[str]) -> Any:
    """``engine.refine`` from the ``--refine*`` options (None without ``--refine``)."""
    from pydantic import ValidationError

    from inspector.config.settings import problems_of
    from inspector.engine.refine import RefineConfig

    if args.refine is None:
        return None
    classes = args.refine_classes.split(",") if args.refine_classes else list(names)
    try:
        return RefineConfig(
            model=args.refine, classes=classes, max_parts=args.refine_max_parts, backend=args.refine_backend
        )
    except ValidationError as exc:
        raise ConfigError("invalid --refine options:", problems_of(exc)) from None


def result_record(
    image: Path, det: Detections, frame: int | None = None, converted: list[str] | None = None
) -> dict[str, Any]:
    height, width = det.image_shape
    boxes = det.boxes.cpu().tolist()
    areas = det.masks.flatten(1).sum(1).cpu().tolist() if len(det) else []
    rows = zip(det.class_ids.tolist(), det.scores.tolist(), boxes, areas, strict=True)
    instances = [
        {
            "id": k,  # the pixel value in the --save-masks label image
            "class_id": int(cls),
            "name": det.names[int(cls)],
            "score": round(float(score), 5),
            "box": [round(v, 2) for v in box],
            "mask_area": int(area),
        }
        for k, (cls, score, box, area) in enumerate(rows, start=1)
    ]
    record: dict[str, Any] = {"image": str(image)}
    if frame is not None:
        record["frame"] = frame
    record.update(width=width, height=height, instances=instances)
    record["timing_ms"] = {stage: round(ms, 3) for stage, ms in det.timings_ms}
    if converted:
        record["converted"] = converted
    return record


class Run:
    """One ``segment`` invocation: prints results and errors, keeps the count of failed inputs."""

    def __init__(self, args: argparse.Namespace, line: StatusLine, engine: Any) -> None:
        self.args, self.line, self.engine = args, line, engine
        self.saver = Saver(args.save, args.save_masks) if args.save else None
        self.failed = 0

    def fail(self, name: str, reason: str) -> None:
        self.failed += 1
        self.line.clear()
        print(f"inspector segment: error: {name}: {reason}", file=sys.stderr, flush=True)
        if self.args.json:
            print(json.dumps({"image": name, "error": reason}), flush=True)

    def report(self, record: dict[str, Any]) -> None:
        self.line.clear()
        if self.args.json:
            print(json.dumps(record), flush=True)
            return
        found = ", ".join(f"{i['name']} {i['score']:.2f}" for i in record["instances"]) or "nothing"
        where = record["image"] + (f" frame {record['frame']}" if "frame" in record else "")
        total = sum(record["timing_ms"].values())
        note = f" (converted: {', '.join(record['converted'])})" if "converted" in record else ""
        print(f"{where} ({record['width']}x{record['height']}){note}: {found} [{total:.1f} ms]", flush=True)

    def image(self, item: Input, stem: str) -> None:
        image, notes = load_image(item.path, self.args.max_megapixels)
        (det,) = self.engine.infer([image])
        self.report(result_record(item.path, det, converted=notes))
        if self.saver is not None:
            self.saver.image(stem, image, det)

    def video(self, item: Input, stem: str, counter: Counter) -> None:
        video = Video(item.path)
        writer = VideoSaver(self.saver, stem, video.fps) if self.saver is not None else None
        total = f"/{video.frame_count}" if video.frame_count else ""
        index = -1
        try:
            for index, frame in enumerate(video.frames()):
                (det,) = self.engine.infer([frame])
                self.report(result_record(item.path, det, frame=index))
                if writer is not None:
                    writer.frame(index, frame, det)
                counter.advance(0, f"{item.path.name} frame {index + 1}{total}")
        finally:
            if writer is not None:
                writer.close()
        if index < 0:
            raise BadInput("no frame could be read from the video")

    def all(self, inputs: list[Input]) -> None:
        counter = Counter(self.line, "segmenting: input", len(inputs))
        for item, stem in zip(inputs, output_stems([i.path for i in inputs]), strict=True):
            try:
                if item.video:
                    self.video(item, stem, counter)
                else:
                    self.image(item, stem)
            except BadInput as exc:
                self.fail(str(item.path), str(exc))
            except OSError as exc:
                self.fail(str(item.path), f"cannot read or write: {exc}")
            except (InspectorError, RuntimeError, ValueError, MemoryError, cv2.error) as exc:
                # what the engine refuses for this input fails this input, not the others
                self.fail(str(item.path), f"{type(exc).__name__}: {exc}".splitlines()[0])
            counter.advance()

    def saved(self) -> str | None:
        if self.saver is None or not self.saver.written:
            return None
        masks = sum(
            p.name.endswith("_masks.png") or p.parent.name.endswith("_masks") for p in self.saver.written
        )
        what = f"{len(self.saver.written) - masks} annotated file(s)"
        what += f" and {masks} mask PNG(s)" if masks else ""
        return f"saved {what} to {self.saver.folder}"


def handle(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from inspector.config.settings import problems_of
    from inspector.engine import EngineConfig, load_engine
    from inspector.engine.config import PromptConfig
    from inspector.engine.refine import with_refinement
    from inspector.logging import LogConfig, configure_logging

    configure_logging(LogConfig(level="warning"), stream=sys.stderr)  # stdout carries the results only
    try:
        prompt = None
        if args.prompt_box or args.prompt_point:
            prompt = PromptConfig(boxes=args.prompt_box, points=args.prompt_point)
        config = EngineConfig(
            model=args.model,
            conf=args.conf,
            iou=args.iou,
            imgsz=args.imgsz,
            device=args.device,
            warmup=0,
            prompt=prompt,
        )
    except ValidationError as exc:
        raise ConfigError("invalid options:", problems_of(exc)) from None
    if args.save_masks and args.save is None:
        raise ConfigError("--save-masks needs --save DIR (the folder to write them to)")
    if not args.max_megapixels > 0:
        raise ConfigError("--max-megapixels must be more than 0")
    inputs, problems = expand_inputs(args.inputs)  # before spending time on the model
    with StatusLine() as line:
        run = Run(args, line, None)
        for name, problem in problems:
            run.fail(name, problem)
        if not inputs:
            raise NothingToSegment("nothing to segment: no argument names an image or video file")
        with activity(line, "loading the model"):
            run.engine = load_engine(config)
            run.engine = with_refinement(run.engine, refine_config(args, run.engine.names))
        run.all(inputs)
    saved = run.saved()
    if saved:
        print(saved, file=sys.stderr if args.json else sys.stdout)
    return 1 if run.failed else 0
