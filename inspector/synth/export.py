"""Writing generated boards as a YOLO-seg dataset plus a JSON of ground truth per image.

Layout under ``out``::

    images/000000.png   labels/000000.txt   meta/000000.json   data.yaml

A label line is ``class x1 y1 x2 y2 ...`` with the instance's outer contour normalised
to 0..1. The JSON lists each instance's class and mask area (pixels of the written
image) and ``reject`` (any defect present: the demo rule on ground truth).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import yaml

from inspector.synth.generator import BoardGenerator, Instance, board_rejected
from inspector.synth.layout import CLASS_NAMES


def mask_polygon(mask: np.ndarray) -> np.ndarray:
    """Outer contour of the mask's largest region as (K, 2) float pixel coordinates.

    Pixel centres are at integer coordinates; the contour goes through boundary pixel
    centres, so rasterising it with ``fillPoly`` gives back the mask exactly.
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2), np.float32)
    biggest = max(contours, key=cv2.contourArea)
    return biggest.reshape(-1, 2).astype(np.float32)


def yolo_label_line(inst: Instance) -> str:
    h, w = inst.mask.shape
    poly = mask_polygon(inst.mask)
    # +0.5: from pixel-centre coordinates to the continuous image plane YOLO normalises by.
    norm = (poly + 0.5) / np.array([w, h], np.float32)
    coords = " ".join(f"{v:.6f}" for v in np.clip(norm, 0.0, 1.0).reshape(-1))
    return f"{inst.class_id} {coords}"


def polygon_from_label_line(line: str, width: int, height: int) -> tuple[int, np.ndarray]:
    """Inverse of ``yolo_label_line``: (class id, polygon in pixel-centre coordinates)."""
    parts = line.split()
    values = np.array([float(v) for v in parts[1:]], np.float32).reshape(-1, 2)
    return int(parts[0]), values * np.array([width, height], np.float32) - 0.5


def image_record(
    name: str, gen: BoardGenerator, index: int, instances: tuple[Instance, ...], scale: float
) -> dict:
    """Ground truth of one image for the JSON file; areas in pixels of the written image."""
    width, height = gen.size
    return {
        "image": name,
        "seed": gen.seed,
        "index": index,
        "width": round(width * scale),
        "height": round(height * scale),
        "reject": board_rejected(instances),
        "instances": [
            {
                "class_id": inst.class_id,
                "class_name": inst.class_name,
                "mask_area": round(inst.area * scale * scale),
                "bbox": [round(v * scale, 1) for v in inst.bbox],
            }
            for inst in instances
        ],
    }


def write_images(
    gen: BoardGenerator,
    out: Path,
    indices: Iterable[int],
    store_width: int | None = None,
    on_written: Callable[[int], None] | None = None,
) -> int:
    """Render frames ``indices`` of ``gen`` into ``out``; optionally store them downscaled
    to ``store_width`` (labels are normalised, so they stay exact). Returns the count.
    ``on_written(count)`` after each board (progress)."""
    for sub in ("images", "labels", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    scale = 1.0 if store_width is None else store_width / gen.size[0]
    count = 0
    for index in indices:
        image, instances = gen.render(index)
        if scale != 1.0:
            size = (round(gen.size[0] * scale), round(gen.size[1] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        stem = f"{index:06d}"
        if not cv2.imwrite(str(out / "images" / f"{stem}.png"), image):
            raise OSError(f"cannot write image {out / 'images' / stem}.png")
        lines = [yolo_label_line(inst) for inst in instances]
        (out / "labels" / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        record = image_record(f"{stem}.png", gen, index, instances, scale)
        (out / "meta" / f"{stem}.json").write_text(json.dumps(record, indent=1))
        count += 1
        if on_written is not None:
            on_written(count)
    return count


def write_data_yaml(path: Path, root: Path, train: str = "images", val: str = "images") -> None:
    """An ultralytics dataset file naming the demo classes in id order."""
    data = {"path": str(root.resolve()), "train": train, "val": val, "names": dict(enumerate(CLASS_NAMES))}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_dataset(
    gen: BoardGenerator, out: Path, count: int, on_written: Callable[[int], None] | None = None
) -> int:
    """Frames 0..count-1 of ``gen`` plus ``data.yaml`` (train = val = these images)."""
    written = write_images(gen, out, range(count), on_written=on_written)
    write_data_yaml(out / "data.yaml", out)
    return written
