"""What ``inspector segment --save DIR`` writes: one annotated image per input image (one annotated
video per video), and with ``--save-masks`` one instance label PNG per image or video frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inspector.messages import Detections

VIDEO_FOURCC = "mp4v"  # an MPEG-4 Part 2 encoder ships in opencv-python's own FFmpeg


def colour(class_id: int) -> tuple[int, int, int]:
    hue = (class_id * 47) % 180
    bgr = cv2.cvtColor(np.array([[[hue, 220, 255]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def output_stems(paths: list[Path]) -> list[str]:
    """One output name per input; inputs sharing a stem (a/board.png, b/board.png, board.jpg)
    get _2, _3 … so no input's outputs overwrite another's."""
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


def overlay(image: np.ndarray, det: Detections) -> np.ndarray:
    """All instances on one copy of the image: masks tinted by class, boxes, 'class score' labels."""
    out = image.copy()
    masks = det.masks.cpu().numpy()
    rows = zip(det.class_ids.tolist(), det.scores.tolist(), det.boxes.cpu().tolist(), strict=True)
    for i, (cls, score, box) in enumerate(rows):
        tint = np.array(colour(cls), dtype=np.float32)
        region = masks[i]
        out[region] = (0.5 * out[region] + 0.5 * tint).astype(np.uint8)
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour(cls), 1)
        label = f"{det.names[cls]} {score:.2f}"
        cv2.putText(out, label, (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour(cls), 1)
    return out


def label_image(det: Detections) -> np.ndarray:
    """Instance ids as pixels: 0 background, k for the k-th instance of the JSON line (1-based);
    where masks overlap the higher score wins. 8-bit, 16-bit above 255 instances."""
    height, width = det.image_shape
    dtype = np.uint8 if len(det) <= 255 else np.uint16
    labels = np.zeros((height, width), dtype)
    masks = det.masks.cpu().numpy()
    for k in range(len(det), 0, -1):  # lowest score first, so higher scores paint over it
        labels[masks[k - 1]] = k
    return labels


def write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")


@dataclass
class Saver:
    """Writes the outputs of one input into ``folder`` and remembers what it wrote."""

    folder: Path
    masks: bool
    written: list[Path] = field(default_factory=list)

    def image(self, stem: str, image: np.ndarray, det: Detections) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._png(self.folder / f"{stem}_overlay.png", overlay(image, det))
        if self.masks:
            self._png(self.folder / f"{stem}_masks.png", label_image(det))

    def _png(self, path: Path, image: np.ndarray) -> None:
        write_png(path, image)
        self.written.append(path)


class VideoSaver:
    """``STEM_overlay.mp4`` (annotated frames at the source's rate) and, with masks,
    ``STEM_masks/FRAME.png`` (FRAME: the 0-based frame index, six digits)."""

    def __init__(self, saver: Saver, stem: str, fps: float) -> None:
        self.saver, self.stem, self.fps = saver, stem, fps if fps > 0 else 25.0
        self.writer: cv2.VideoWriter | None = None

    def frame(self, index: int, image: np.ndarray, det: Detections) -> None:
        folder = self.saver.folder
        if self.writer is None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.stem}_overlay.mp4"
            height, width = image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*VIDEO_FOURCC)
            self.writer = cv2.VideoWriter(str(path), fourcc, self.fps, (width, height))
            if not self.writer.isOpened():
                raise OSError(f"cannot write {path} (no {VIDEO_FOURCC} video encoder)")
            self.saver.written.append(path)
        self.writer.write(overlay(image, det))
        if self.saver.masks:
            masks = folder / f"{self.stem}_masks"
            masks.mkdir(exist_ok=True)
            self.saver._png(masks / f"{index:06d}.png", label_image(det))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
