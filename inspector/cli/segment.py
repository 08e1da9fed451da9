"""``inspector segment``: run the model on image files, like ``yolo predict``.

With ``--json`` each image gives one JSON line; ``--save DIR`` writes ``STEM_overlay.png`` per
image and ``STEM_maskNNN_CLASS.png`` per instance (images sharing a stem get ``STEM_2`` …).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspector.errors import ConfigError, SourceError
from inspector.messages import Detections


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="segment image files with a YOLOv8-seg model")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped demo model)")
    parser.add_argument("--conf", type=float, default=0.25, help="minimum score (default 0.25)")
    parser.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    parser.add_argument("--imgsz", type=int, help="network input size (default: the model's training size)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image per line")
    parser.add_argument("--save", type=Path, metavar="DIR", help="write overlay and mask PNGs here")
    parser.set_defaults(handler=handle)


def result_record(image: Path, det: Detections) -> dict[str, Any]:
    height, width = det.image_shape
    boxes = det.boxes.cpu().tolist()
    areas = det.masks.flatten(1).sum(1).cpu().tolist() if len(det) else []
    instances = [
        {
            "class_id": int(cls),
            "name": det.names[int(cls)],
            "score": round(float(score), 5),
            "box": [round(v, 2) for v in box],
            "mask_area": int(area),
        }
        for cls, score, box, area in zip(
            det.class_ids.tolist(), det.scores.tolist(), boxes, areas, strict=True
        )
    ]
    timing = {stage: round(ms, 3) for stage, ms in det.timings_ms}
    return {
        "image": str(image),
        "width": width,
        "height": height,
        "instances": instances,
        "timing_ms": timing,
    }


def colour(class_id: int) -> tuple[int, int, int]:
    hue = (class_id * 47) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 220, 255]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def file_safe(text: str) -> str:
    """A class name as a file name part: 'via/hole 2' becomes 'via_hole_2'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "class"


def output_stems(paths: list[Path]) -> list[str]:
    """One output name per image; images sharing a stem (a/board.png, b/board.png, board.jpg)
    get _2, _3 … so no image's outputs overwrite another's."""
    taken: set[str] = set()
    stems = []
    for path in paths:
        stem, n = path.stem, 1
        while stem in taken:
            n += 1
            stem = f"{path.stem}_{n}"
        taken.add(stem)
        stems.append(stem)
    return stems


def save_outputs(folder: Path, stem: str, image: np.ndarray, det: Detections) -> None:
    """Overlay PNG (masks tinted, boxes, labels) and one 0/255 mask PNG per instance."""
    folder.mkdir(parents=True, exist_ok=True)
    overlay = image.copy()
    masks = det.masks.cpu().numpy()
    for i, (cls, score, box) in enumerate(
        zip(det.class_ids.tolist(), det.scores.tolist(), det.boxes.cpu().tolist(), strict=True)
    ):
        tint = np.array(colour(cls), dtype=np.float32)
        region = masks[i]
        overlay[region] = (0.5 * overlay[region] + 0.5 * tint).astype(np.uint8)
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(overlay, (x1, y1), (x2, y2), colour(cls), 1)
        label = f"{det.names[cls]} {score:.2f}"
        cv2.putText(overlay, label, (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour(cls), 1)
        name = f"{stem}_mask{i:03d}_{file_safe(det.names[cls])}.png"
        cv2.imwrite(str(folder / name), region.astype(np.uint8) * 255)
    cv2.imwrite(str(folder / f"{stem}_overlay.png"), overlay)


def read_image(path: Path) -> np.ndarray:
    if not path.is_file():
        raise SourceError(f"image {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"image {path} cannot be decoded (expected PNG, JPEG, BMP or TIFF)")
    return image


def handle(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from inspector.config.settings import problems_of
    from inspector.engine import EngineConfig, load_engine
    from inspector.logging import LogConfig, configure_logging

    configure_logging(LogConfig(level="warning"), stream=sys.stderr)  # stdout carries the results only

    try:
        config = EngineConfig(
            model=args.model, conf=args.conf, iou=args.iou, imgsz=args.imgsz, device=args.device, warmup=0
        )
    except ValidationError as exc:
        raise ConfigError("invalid options:", problems_of(exc)) from None
    for path in args.images:  # fail on a missing image before spending time on the model
        if not path.is_file():
            raise SourceError(f"image {path} does not exist")
    engine = load_engine(config)
    for path, stem in zip(args.images, output_stems(args.images), strict=True):
        image = read_image(path)
        (det,) = engine.infer([image])
        record = result_record(path, det)
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            found = ", ".join(f"{i['name']} {i['score']:.2f}" for i in record["instances"]) or "nothing"
            total = sum(record["timing_ms"].values())
            print(f"{path} ({record['width']}x{record['height']}): {found} [{total:.1f} ms]", flush=True)
        if args.save:
            save_outputs(args.save, stem, image, det)
    return 0
