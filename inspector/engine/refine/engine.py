"""An engine wrapped with SAM-family refinement (``engine.refine``): the detector finds the
parts, SAM redraws the masks of the named classes from their boxes.

Per frame: the detections of the named classes, highest score first, up to ``max_parts``; the
image encoder runs once when there is any, the decoder once per part, and its mask replaces the
detector's. Parts over the cap keep the detector's mask and are counted as unrefined; a SAM mask
that comes out empty is not used (the detector's stays, so a defect never vanishes from the
rules) and is counted too. Everything else the inner engine offers is passed through."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from inspector.engine.refine.config import RefineConfig
from inspector.engine.refine.sam import SamRefiner
from inspector.errors import ConfigError
from inspector.messages import Detections


class Engine(Protocol):
    """What is wrapped (``inspector.app.interfaces.InferenceEngine``)."""

    @property
    def names(self) -> Sequence[str]: ...

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...

    def warmup(self) -> None: ...


@dataclass(frozen=True, eq=False)
class PendingFrame:
    """A frame between ``forward`` and ``finish``: the image SAM embeds, and the inner engine's
    raw output (or its Detections already, for an inner engine with one step)."""

    frame: np.ndarray
    inner: object


@dataclass(frozen=True)
class RefineCounts:
    """Running totals since start: frames encoded, parts refined, parts left unrefined over
    ``max_parts``, SAM masks that came out empty (the detector's kept)."""

    frames: int = 0
    refined: int = 0
    over_cap: int = 0
    empty: int = 0


def class_ids(classes: Sequence[str], names: Sequence[str]) -> frozenset[int]:
    """The ids of the named classes; a ConfigError naming each unknown one, as the rules do."""
    problems = tuple(
        (f"engine.refine.classes.{index}", f"{name!r} is not a class of the model ({', '.join(names)})")
        for index, name in enumerate(classes)
        if name not in names
    )
    if problems:
        raise ConfigError("engine.refine names classes the model never reports:", problems)
    return frozenset(i for i, name in enumerate(names) if name in classes)


class RefiningEngine:
    """An ``InferenceEngine`` whose masks of chosen classes SAM refines."""

    def __init__(self, inner: Engine, refiner: SamRefiner, config: RefineConfig) -> None:
        self._inner = inner
        self._refiner = refiner
        self._config = config
        self._ids = class_ids(config.classes, inner.names)
        self._lock = threading.Lock()
        self._counts = RefineCounts()
        self._warm_ms: float | None = None

    def __getattr__(self, name: str) -> Any:
        # device, config, info, reduce_imgsz...: what the inner engine has, as it has it, so the
        # line's capability checks (isinstance with runtime protocols) see the same engine
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "warmup_ms":
            inner = self._inner.warmup_ms  # type: ignore[attr-defined]
            return None if inner is None else inner + (self._warm_ms or 0.0)
        return getattr(self._inner, name)

    @property
    def names(self) -> Sequence[str]:
        return self._inner.names

    @property
    def refiner(self) -> SamRefiner:
        return self._refiner

    def counts(self) -> RefineCounts:
        with self._lock:
            return self._counts

    def warmup(self) -> None:
        """The inner engine's warm-up, then the SAM pair's."""
        self._inner.warmup()
        self.warm_refiner()

    def warm_refiner(self) -> None:
        """The SAM pair once on a grey frame with one box (first runs allocate and plan)."""
        start = time.perf_counter()
        frame = np.full((480, 640, 3), 114, np.uint8)
        self._refiner.mask(self._refiner.embed(frame), np.array([100.0, 100.0, 300.0, 300.0]))
        self._warm_ms = (time.perf_counter() - start) * 1000.0

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        detections = self._inner.infer(frames)
        return [self.refine(frame, found) for frame, found in zip(frames, detections, strict=True)]

    def forward(self, frames: Sequence[np.ndarray]) -> list[PendingFrame]:
        """The inner engine's forward (its whole ``infer`` when it has one step only); SAM waits
        for ``finish``, so with ``runtime.postprocess_stage`` it runs in the post-processing stage."""
        two_step = callable(getattr(self._inner, "forward", None)) and callable(
            getattr(self._inner, "finish", None)
        )
        firsts = self._inner.forward(frames) if two_step else self._inner.infer(frames)  # type: ignore[attr-defined]
        return [PendingFrame(frame, first) for frame, first in zip(frames, firsts, strict=True)]

    def finish(self, pending: PendingFrame) -> Detections:
        found = pending.inner
        if not isinstance(found, Detections):
            found = self._inner.finish(found)  # type: ignore[attr-defined]
        return self.refine(pending.frame, found)

    def chosen(self, found: Detections) -> tuple[list[int], int]:
        """Indices to refine (highest score first, at most ``max_parts``) and how many were over."""
        ids, scores = found.class_ids.tolist(), found.scores.tolist()
        wanted = sorted((i for i in range(len(found)) if ids[i] in self._ids), key=lambda i: -scores[i])
        cap = self._config.max_parts
        return wanted[:cap], max(len(wanted) - cap, 0)

    def refine(self, frame: np.ndarray, found: Detections) -> Detections:
        """``found`` with the chosen parts' masks from SAM (the encoder runs only if there is one)."""
        picked, over = self.chosen(found)
        if not picked:
            self._count(over=over)
            return found
        embedded = self._refiner.embed(frame)
        start = time.perf_counter()
        masks = found.masks.clone()
        boxes = found.boxes.detach().cpu().numpy()
        empty = 0
        for i in picked:
            mask, _ = self._refiner.mask(embedded, boxes[i])
            if mask.any():
                masks[i] = torch.from_numpy(mask).to(masks.device)
            else:
                empty += 1
        decode_ms = (time.perf_counter() - start) * 1000.0
        self._count(frames=1, refined=len(picked) - empty, over=over, empty=empty)
        timings = (*found.timings_ms, ("refine_encoder", embedded.ms), ("refine_decoder", decode_ms))
        return dataclasses.replace(found, masks=masks, timings_ms=timings)

    def _count(self, frames: int = 0, refined: int = 0, over: int = 0, empty: int = 0) -> None:
        with self._lock:
            c = self._counts
            self._counts = RefineCounts(
                c.frames + frames, c.refined + refined, c.over_cap + over, c.empty + empty
            )
