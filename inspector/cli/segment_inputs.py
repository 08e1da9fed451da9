"""What ``inspector segment`` reads: files, folders, quoted globs and videos, like ``yolo predict``;
images made 8-bit BGR where that is a plain conversion, a one-line reason where it is not."""

from __future__ import annotations

import argparse
import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset(
    [
        ".bmp",
        ".dib",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".tif",
        ".tiff",
        ".webp",
        ".pbm",
        ".pgm",
        ".ppm",
        ".pnm",
        ".jp2",
        ".sr",
        ".ras",
    ]
)
VIDEO_SUFFIXES = frozenset(
    [".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".asf", ".gif"]
)
GLOB_CHARS = frozenset("*?[")
JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


class BadInput(Exception):
    """An input that cannot be segmented; the message says why (the caller names the file)."""


@dataclass(frozen=True)
class Input:
    path: Path
    video: bool


def media_files(folder: Path) -> list[Path]:
    """A folder's images and videos by name (not recursive; other files are skipped)."""
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def expand_inputs(args: list[str]) -> tuple[list[Input], list[tuple[str, str]]]:
    """The inputs the arguments name, in order, and (argument, problem) for those naming none.

    A file is taken whatever its name (a video by its suffix); a folder gives its image and
    video files; a quoted glob (``'imgs/*.png'``, ``**`` for subfolders) its matching files.
    """
    found: list[Path] = []
    problems: list[tuple[str, str]] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            files = media_files(path)
            if not files:
                problems.append((arg, "folder holds no image or video files"))
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif GLOB_CHARS & set(arg):
            files = sorted(Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file())
            if not files:
                problems.append((arg, "matches no files"))
            found.extend(files)
        else:
            problems.append((arg, "does not exist"))
    return [Input(p, p.suffix.lower() in VIDEO_SUFFIXES) for p in found], problems


def to_8bit(image: np.ndarray, notes: list[str]) -> np.ndarray:
    """16-bit and float images as 8-bit: 16-bit by the bits the data uses (12-bit camera data in a
    16-bit file is not 16x too dark), float by 0..1 when it stays there."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        bits = max(8, int(image.max()).bit_length())
        notes.append(f"16-bit to 8-bit ({bits}-bit data)")
        return np.round(image.astype(np.float32) * (255.0 / (2**bits - 1))).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        top = 1.0 if float(np.nanmax(image)) <= 1.0 else 255.0
        notes.append(f"{image.dtype} to 8-bit (0..{top:g})")
        return np.clip(np.nan_to_num(image) * (255.0 / top), 0, 255).astype(np.uint8)
    raise BadInput(f"pixel type {image.dtype} is not supported (expected 8 or 16-bit, or float)")


def to_bgr(image: np.ndarray, notes: list[str]) -> np.ndarray:
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 3:
        return image
    if channels == 1:
        notes.append("grayscale to BGR")
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        notes.append("alpha channel dropped")
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise BadInput(f"{channels} channels are not supported (expected 1, 3 or 4)")


def load_image(path: Path, max_megapixels: float) -> tuple[np.ndarray, list[str]]:
    """The image as 8-bit BGR and what was converted to get there; ``BadInput`` if it cannot be."""
    data = path.read_bytes()
    if not data:
        raise BadInput("empty file (0 bytes)")
    # libjpeg decodes a cut-off JPEG with its bottom grey and only warns: refuse it instead
    if data.startswith(JPEG_START) and not data.rstrip(b"\0\r\n ").endswith(JPEG_END):
        raise BadInput("truncated JPEG (no end-of-image marker)")
    # any depth and colour layout (converted below), EXIF orientation applied as imread does
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None or image.size == 0:
        raise BadInput("cannot be decoded as an image (expected PNG, JPEG, BMP, TIFF or WebP)")
    height, width = image.shape[:2]
    if height * width > max_megapixels * 1e6:
        raise BadInput(
            f"{width}x{height} is {height * width / 1e6:.1f} MP, over --max-megapixels "
            f"{max_megapixels:g} (full-size masks take H x W bytes per instance); scale it down or "
            "raise --max-megapixels"
        )
    notes: list[str] = []
    return to_bgr(to_8bit(image, notes), notes), notes


class Video:
    """A video file's frames, one by one; ``BadInput`` if it cannot be opened or has none."""

    def __init__(self, path: Path) -> None:
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            self.capture.release()
            raise BadInput("cannot be opened as a video")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 0.0
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            self.capture.release()


# Prompt arguments (--prompt-box, --prompt-point): argparse types with a message naming the form.
def numbers(text: str, counts: tuple[int, ...], form: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in counts:
        raise argparse.ArgumentTypeError(f"{text!r} is not {form}")
    return values


def prompt_box(text: str) -> tuple[float, ...]:
    return tuple(numbers(text, (4,), "X1,Y1,X2,Y2 (four numbers, image pixels)"))


def prompt_point(text: str) -> tuple[float, float, int]:
    form = "X,Y or X,Y,LABEL (image pixels; label 1 keeps, 0 excludes)"
    values = numbers(text, (2, 3), form)
    label = values[2] if len(values) == 3 else 1.0
    if label not in (0.0, 1.0):
        raise argparse.ArgumentTypeError(f"{text!r} is not {form}")
    return values[0], values[1], int(label)
