"""Procedurally generated frames: the demo PCB boards (``inspector.synth``) or plain shapes.

Frame ``i`` depends only on the seed and ``i``, so runs are reproducible.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import cv2
import numpy as np

from inspector.errors import SourceError
from inspector.sources.config import SyntheticSourceConfig

# (rng, width, height) -> BGR uint8 frame
SceneFn = Callable[[np.random.Generator, int, int], np.ndarray]


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


def pcb_scene() -> SceneFn:
    """The synthetic PCB board generator of ``inspector.synth`` as a scene function."""
    try:
        synth = importlib.import_module("inspector.synth")
    except ImportError as exc:  # pragma: no cover - the package always exists
        raise SourceError(f"the PCB board generator cannot be imported: {exc}") from None
    render = getattr(synth, "render_frame", None)
    if render is None:
        raise SourceError(
            "scene 'pcb' needs the PCB board generator (inspector.synth.render_frame), "
            "which this build does not have; use scene: shapes"
        )
    return render  # type: ignore[no-any-return]


class SyntheticSource:
    """Endless (or ``count``-long) deterministic frames."""

    def __init__(self, config: SyntheticSourceConfig, scene: SceneFn | None = None) -> None:
        self._config = config
        self._scene = scene
        self._index = 0
        self._ended = False

    def open(self) -> None:
        if self._scene is None:
            self._scene = pcb_scene() if self._config.scene == "pcb" else shapes_scene

    def read(self) -> tuple[bool, np.ndarray | None]:
        cfg = self._config
        if self._scene is None or (cfg.count is not None and self._index >= cfg.count):
            self._ended = self._scene is not None
            return False, None
        rng = np.random.default_rng([cfg.seed, self._index])
        self._index += 1
        frame = self._scene(rng, cfg.width, cfg.height)
        return True, frame

    def release(self) -> None:
        pass

    @property
    def ended(self) -> bool:
        return self._ended
