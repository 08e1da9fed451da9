"""The network forward behind one interface, whatever runtime executes it.

A ``Network`` takes a letterboxed batch (B, 3, H, W) in [0, 1] — in its ``dtype`` and memory
``layout``, on its ``device`` — and returns the head's outputs before NMS, as an ultralytics
export does: predictions (B, 4 + nc + 32, anchors) and mask prototypes (B, 32, H/4, W/4).
Boxes are xywh, except for a network whose ``info.end2end`` is set (a one-to-one head): xyxy,
selected by top-k (``families.topk``) instead of NMS.
``Engine`` does everything around it (letterbox, NMS, masks) and never asks which runtime runs.
"""

from __future__ import annotations

from typing import Protocol

import torch

from inspector.engine.config import EngineConfig
from inspector.engine.letterbox import check_imgsz
from inspector.engine.loaders import ModelInfo

RawHead = tuple[torch.Tensor, torch.Tensor]  # (predictions, prototypes)


class Network(Protocol):
    """A loaded network, ready to run batches."""

    @property
    def info(self) -> ModelInfo:
        """The model: class names, stride, the size it was trained or exported at, fixed or not."""

    @property
    def device(self) -> torch.device:
        """Where inputs must be and outputs are."""

    @property
    def dtype(self) -> torch.dtype:
        """The input dtype (float32, or float16 for a half-precision network)."""

    @property
    def layout(self) -> torch.memory_format:
        """The input memory layout the network runs fastest with."""

    @property
    def max_batch(self) -> int:
        """Most frames one call takes (a fixed-batch export); 0 = any."""

    @property
    def precision(self) -> str:
        """What the network computes in, as the backend set it (fp32, fp16, bf16, int8, ...):
        not always the input dtype (a bf16 OpenVINO or fp16 TensorRT network takes float32)."""

    def __call__(self, x: torch.Tensor) -> RawHead:
        """Predictions and prototypes of a batch."""


def input_hw(info: ModelInfo, config: EngineConfig) -> tuple[int, int]:
    """The network input size: an export's fixed size, else ``engine.imgsz`` (or the trained
    size) as a square stride multiple."""
    if info.fixed_imgsz:
        return info.imgsz
    side = check_imgsz(config.imgsz or max(info.imgsz), info.stride)
    return side, side
