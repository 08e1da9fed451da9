"""What every arch engine shares: the ``InferenceEngine`` the line calls (frames in, one
``Detections`` per frame out), warm-up, and the engine options every arch honours
(``engine.conf``, ``engine.classes``, ``engine.max_det``). An arch supplies ``detect``: one BGR
frame to its instances as numpy arrays; the graphs run one frame at a time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from inspector.engine.archs.session import GraphSession
from inspector.engine.config import EngineConfig
from inspector.engine.loaders import ModelInfo
from inspector.errors import ConfigError, ModelError
from inspector.messages import Detections


@dataclass(frozen=True)
class Instances:
    """One frame's instances before the engine options: numpy, image pixels."""

    boxes: np.ndarray  # (N, 4) float32 xyxy
    scores: np.ndarray  # (N,) float32
    class_ids: np.ndarray  # (N,) int64, ids into the engine's names
    masks: np.ndarray  # (N, H, W) bool

    @staticmethod
    def empty(hw: tuple[int, int]) -> Instances:
        return Instances(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros((0, *hw), bool),
        )

    @staticmethod
    def collected(
        boxes: Sequence[tuple[float, float, float, float]],
        scores: Sequence[float],
        class_ids: Sequence[int],
        masks: Sequence[np.ndarray],
        hw: tuple[int, int],
    ) -> Instances:
        """Instances gathered one region at a time; empty (at ``hw``) when none was found."""
        if not boxes:
            return Instances.empty(hw)
        return Instances(
            np.asarray(boxes, np.float32),
            np.asarray(scores, np.float32),
            np.asarray(class_ids, np.int64),
            np.stack(masks),
        )

    def kept(self, keep: np.ndarray) -> Instances:
        return Instances(self.boxes[keep], self.scores[keep], self.class_ids[keep], self.masks[keep])


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def check_frame(i: int, frame: object) -> np.ndarray:
    if not (
        isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    ):
        shape = getattr(frame, "shape", None)
        raise ModelError(f"frame {i}: expected a BGR uint8 array H x W x 3, got {shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ModelError(f"frame {i}: expected shape H x W x 3, got {frame.shape}")
    return frame


def rgb_chw(frame: np.ndarray) -> np.ndarray:
    """A BGR uint8 frame as float32 RGB (3, H, W) in [0, 1]."""
    return np.ascontiguousarray(frame[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


class ArchEngine:
    """Base of the arch engines. Not thread-safe: one caller at a time."""

    def __init__(self, info: ModelInfo, session: GraphSession, config: EngineConfig) -> None:
        self.info = info
        self.session = session
        self.config = config
        self.names: tuple[str, ...] = info.names
        self.device = torch.device("cpu")  # outputs are host arrays whichever provider ran
        self.imgsz = info.imgsz
        self.warmup_ms: float | None = None
        unknown = [c for c in config.classes or () if not 0 <= c < len(self.names)]
        if unknown:
            raise ConfigError(
                "engine.classes names classes the model does not have",
                (("engine.classes", f"{unknown} not in 0..{len(self.names) - 1} ({info.path})"),),
            )

    @property
    def precision(self) -> str:
        return self.session.precision

    @property
    def backend(self) -> str:
        return self.session.backend

    def detect(self, frame: np.ndarray) -> Instances:
        raise NotImplementedError

    def warmup(self, passes: int | None = None) -> None:
        blank = np.full((*self.imgsz, 3), 114, dtype=np.uint8)
        for _ in range(self.config.warmup if passes is None else passes):
            t0 = time.perf_counter()
            self.infer([blank])
            self.warmup_ms = ms_since(t0)

    def options(self, found: Instances) -> Instances:
        """``engine.conf``, ``engine.classes`` and ``engine.max_det``, best scores first."""
        keep = found.scores >= self.config.conf
        if self.config.classes:
            keep &= np.isin(found.class_ids, self.config.classes)
        found = found.kept(keep)
        order = np.argsort(-found.scores, kind="stable")[: self.config.max_det]
        return found.kept(order)

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        out = []
        for i, frame in enumerate(frames):
            t0 = time.perf_counter()
            found = self.options(self.detect(check_frame(i, frame)))
            timings = (("inference", ms_since(t0)),)
            out.append(
                Detections(
                    boxes=torch.from_numpy(np.ascontiguousarray(found.boxes, np.float32)),
                    scores=torch.from_numpy(np.ascontiguousarray(found.scores, np.float32)),
                    class_ids=torch.from_numpy(np.ascontiguousarray(found.class_ids, np.int64)),
                    masks=torch.from_numpy(np.ascontiguousarray(found.masks, bool)),
                    names=self.names,
                    timings_ms=timings,
                )
            )
        return out
