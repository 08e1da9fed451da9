"""Procedurally generated frames: the demo PCB boards (``inspector.synth``) or plain shapes.

Frame ``i`` depends only on the seed and ``i``, so runs are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from inspector.errors import SourceError
from inspector.sources.base import FrameSource, SourceOptions
from inspector.sources.config import SyntheticSourceConfig


def shapes_scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A noisy grey background with a few filled rectangles and circles."""
    base = int(rng.integers(60, 120))
    image = np.full((height, width, 3), base, np.uint8)
    noise = rng.integers(-8, 9, size=(height, width, 1), dtype=np.int16)
    image = np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(max(4, min(width, height) // 20), max(8, min(width, height) // 5)))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + size, y + size), colour, thickness=-1)
        else:
            cv2.circle(image, (x, y), size // 2, colour, thickness=-1)
    return image


def pcb_scene(width: int, height: int, seed: int) -> Callable[[int], np.ndarray]:
    """Frame ``i`` of the synthetic PCB board generator (``inspector.synth``)."""
    try:
        from inspector.synth import BoardGenerator
    except ImportError as exc:
        raise SourceError(
            f"scene 'pcb' needs the PCB board generator, which cannot be imported: {exc}"
        ) from None
    try:
        generator = BoardGenerator((width, height), seed)
    except ValueError as exc:
        raise SourceError(f"scene 'pcb': {exc}") from None
    return lambda index: generator.render(index)[0]


def shapes_frames(width: int, height: int, seed: int) -> Callable[[int], np.ndarray]:
    return lambda index: shapes_scene(np.random.default_rng([seed, index]), width, height)


class SyntheticSource:
    """Endless (or ``count``-long) deterministic frames."""

    def __init__(
        self, config: SyntheticSourceConfig, frames: Callable[[int], np.ndarray] | None = None
    ) -> None:
        self._config = config
        self._frames = frames
        self._index = 0
        self._ended = False

    def open(self) -> None:
        if self._frames is None:
            cfg = self._config
            make = pcb_scene if cfg.scene == "pcb" else shapes_frames
            self._frames = make(cfg.width, cfg.height, cfg.seed)

    def read(self) -> tuple[bool, np.ndarray | None]:
        cfg = self._config
        if self._frames is None:
            return False, None
        if cfg.count is not None and self._index >= cfg.count:
            self._ended = True
            return False, None
        frame = self._frames(self._index)
        self._index += 1
        return True, frame

    def release(self) -> None:
        pass

    @property
    def ended(self) -> bool:
        return self._ended


def build(config: SyntheticSourceConfig, options: SourceOptions) -> FrameSource:
    return options.device or SyntheticSource(config)
