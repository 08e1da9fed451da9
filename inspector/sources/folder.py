"""Image files from a folder, in sorted name order, optionally looping."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspector.errors import SourceError
from inspector.sources.base import FrameSource, SourceOptions, as_bgr
from inspector.sources.config import FolderSourceConfig


class FolderSource:
    """Reads every image of a folder once (or forever with ``loop``).

    An unreadable file is a failed read (counted by the reader), never a blank frame.
    """

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
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            return False, None
        return True, as_bgr(image)

    def release(self) -> None:
        pass

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def current_file(self) -> Path | None:
        """The file the last read came from."""
        return self._files[self._next - 1] if self._next > 0 else None


def build(config: FolderSourceConfig, options: SourceOptions) -> FrameSource:
    return options.device or FolderSource(config)
