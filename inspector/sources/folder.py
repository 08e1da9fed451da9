"""Image files from a folder, in sorted name order, optionally looping.

Every file is a part. One that cannot be inspected (empty, truncated, not an image, too small
or too large) raises ``BadFrameError`` naming the file and why: the part is failed safe, the
folder goes on. Grey, BGRA and 16-bit images are converted to 8-bit BGR and inspected.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspector.errors import SourceError
from inspector.sources.base import BadFrameError, FrameSource, SourceOptions, as_bgr
from inspector.sources.config import FolderSourceConfig

MIN_SIDE_PX = 32  # the smallest network input: a smaller image holds nothing the engine can find


class FolderSource:
    """Reads every image of a folder once (or forever with ``loop``)."""

    def __init__(self, config: FolderSourceConfig) -> None:
        self._config = config
        self._files: list[Path] = []
        self._next = 0
        self._ended = False

    def open(self) -> None:
        folder = self._config.path
        if not folder.is_dir():
            raise SourceError(f"source {self._config.id}: image folder {folder} does not exist")
        endings = tuple(e.lower() for e in self._config.extensions)
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(endings))
        if not files:
            raise SourceError(f"source {self._config.id}: no images ({', '.join(endings)}) in {folder}")
        if not self._files:
            self._files = files
        else:  # reopen after a failure: continue where we were, over the current listing
            self._files = files
            self._next = min(self._next, len(files))

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._next >= len(self._files):
            if not self._config.loop or not self._files:
                self._ended = True
                return False, None
            self._next = 0
        path = self._files[self._next]
        self._next += 1
        return True, load_image(path, self._config.max_pixels)

    def release(self) -> None:
        pass

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def current_file(self) -> Path | None:
        """The file the last read came from."""
        return self._files[self._next - 1] if self._next > 0 else None


def load_image(path: Path, max_pixels: int) -> np.ndarray:
    """The image as 8-bit BGR; ``BadFrameError`` saying why when it cannot be inspected."""

    def bad(why: str) -> BadFrameError:
        return BadFrameError(f"image {path.name}: {why}", str(path))

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror or exc})") from None
    if not data:
        raise bad("the file is empty (0 bytes)")
    # IMREAD_COLOR converts grey, BGRA and 16-bit images to 8-bit BGR; a truncated or
    # corrupt file does not decode at all.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise bad(
            f"not a complete image OpenCV can decode ({len(data)} bytes: truncated, corrupt or no image)"
        )
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE_PX:
        raise bad(f"{width}x{height} px is smaller than {MIN_SIDE_PX} px on a side")
    if height * width > max_pixels:
        raise bad(f"{width}x{height} px is more than max_pixels ({max_pixels})")
    return as_bgr(image)


def build(config: FolderSourceConfig, options: SourceOptions) -> FrameSource:
    return options.device or FolderSource(config)
