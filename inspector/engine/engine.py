"""The inference engine: BGR frames in, ``Detections`` (boxes, scores, classes, masks) out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.engine.archs.base import ArchEngine
from inspector.engine.archs.registry import open_arch_engine
from inspector.engine.backends.registry import open_network
from inspector.engine.config import EngineConfig
from inspector.engine.families.topk import select_end_to_end
from inspector.engine.letterbox import Letterbox, apply_letterbox, plan_letterbox, rgb_planes
from inspector.engine.loaders import ModelInfo
from inspector.engine.masks import MaskBuilder
from inspector.engine.metadata import DEMO_MODEL
from inspector.engine.network import Network, RawHead, input_hw
from inspector.engine.postprocess import NmsOptions, boxes_to_original, select
from inspector.engine.prompt import apply_prompt, prompt_of
from inspector.engine.runner import resolve_device
from inspector.errors import ConfigError, ModelError
from inspector.logging import get_logger
from inspector.messages import Detections

log = get_logger("inspector.engine")


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


@dataclass(frozen=True, eq=False)
class RawFrame:
    """One frame's network outputs and letterbox, and what its input and forward cost (ms)."""

    preds: torch.Tensor  # (4 + nc + nm, anchors), or an end-to-end head's rows
    protos: torch.Tensor  # (nm, mh, mw) mask prototypes
    plan: Letterbox
    pre_ms: float
    net_ms: float


class Engine:
    """A loaded model on its device, ready for ``infer``. Not thread-safe: one caller at a time,
    except that ``forward`` and ``finish`` may run on two threads (they share no mutable state)."""

    def __init__(self, network: Network, config: EngineConfig) -> None:
        self.network = network
        self.info: ModelInfo = network.info
        self.config = config
        self.device = network.device
        self.dtype, self.layout = network.dtype, network.layout
        self.names: tuple[str, ...] = network.info.names
        self.warmup_ms: float | None = None
        self.stride = network.info.stride
        self.imgsz = input_hw(network.info, config)
        unknown = [c for c in config.classes or () if not 0 <= c < len(self.names)]
        if unknown:
            raise ConfigError(
                "engine.classes names classes the model does not have",
                (("engine.classes", f"{unknown} not in 0..{len(self.names) - 1} ({self.info.path})"),),
            )
        self.nms = NmsOptions(config.conf, config.iou, config.max_det, config.classes, config.agnostic_nms)
        self.masks = MaskBuilder(self.device)
        self.prompt = prompt_of(config.prompt)

    @property
    def precision(self) -> str:
        return self.network.precision

    def reduce_imgsz(self) -> bool:
        """Shrink the network input by about a quarter (stride multiple, at least 2 strides) after
        an out-of-memory error; False when it cannot shrink (fixed-size export, already minimal)."""
        if self.info.fixed_imgsz:
            return False
        side = max(self.imgsz)
        smaller = max(2 * self.stride, (side * 3 // 4) // self.stride * self.stride)
        if smaller >= side:
            return False
        log.warning("engine_imgsz_reduced", old=side, new=smaller)
        self.imgsz = (smaller, smaller)
        return True

    def warmup(self, passes: int | None = None) -> None:
        """Run the network on blank frames so the first real frame does not pay for allocation/tuning."""
        blank = np.full((*self.imgsz, 3), 114, dtype=np.uint8)
        for _ in range(self.config.warmup if passes is None else passes):
            t0 = time.perf_counter()
            self.infer([blank])
            self.warmup_ms = ms_since(t0)  # the last pass: what one frame costs once warm

    def plans(self, frames: Sequence[np.ndarray]) -> list[Letterbox]:
        for i, frame in enumerate(frames):
            if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3):
                raise ModelError(f"frame {i}: expected a BGR uint8 array H x W x 3")
            if frame.shape[2] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
                raise ModelError(f"frame {i}: expected shape H x W x 3, got {frame.shape}")
        # Like ultralytics predict: a batch of equal sizes is padded only up to a stride multiple.
        minimal = len({f.shape for f in frames}) == 1 and not self.info.fixed_imgsz
        return [plan_letterbox(f.shape[:2], self.imgsz, minimal, self.stride) for f in frames]

    def to_input(self, frames: Sequence[np.ndarray], plans: list[Letterbox]) -> torch.Tensor:
        boxed = [apply_letterbox(f, p) for f, p in zip(frames, plans, strict=False)]
        if (
            self.device.type == "cpu"
            and self.dtype == torch.float32
            and self.layout == torch.contiguous_format
        ):
            return torch.from_numpy(rgb_planes(boxed))  # one pass over each frame, same values
        batch = torch.from_numpy(boxed[0][None] if len(boxed) == 1 else np.stack(boxed))
        if self.device.type == "cuda":
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        x = batch.permute(0, 3, 1, 2).flip(1)  # BHWC BGR -> BCHW RGB
        x = x.to(self.dtype).div_(255.0)
        return x.contiguous(memory_format=self.layout)

    def run_network(self, x: torch.Tensor) -> RawHead:
        limit = self.network.max_batch
        if not limit or x.shape[0] <= limit:
            return self.network(x)
        outs = [self.network(chunk) for chunk in x.split(limit)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Instances in each frame (sizes may differ), boxes and masks in original pixels, on ``device``."""
        return [self.finish(raw) for raw in self.forward(frames)]

    def forward(self, frames: Sequence[np.ndarray]) -> list[RawFrame]:
        """The network's outputs per frame, before NMS and masks (``finish`` makes them Detections):
        a line may post-process one frame while the network runs the next."""
        if not frames:
            return []
        t0 = time.perf_counter()
        plans = self.plans(frames)
        x = self.to_input(frames, plans)
        t_pre = ms_since(t0) / len(frames)
        t1 = time.perf_counter()
        with torch.inference_mode():
            preds, protos = self.run_network(x)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        t_net = ms_since(t1) / len(frames)
        # Every backend returns outputs of its own (never a buffer the next call reuses), so a
        # frame's outputs stay valid while the network runs the next one.
        return [RawFrame(preds[i], protos[i], plan, t_pre, t_net) for i, plan in enumerate(plans)]

    def finish(self, raw: RawFrame) -> Detections:
        """One frame's Detections from its raw outputs: NMS (or top-k), boxes to original pixels, masks."""
        t0 = time.perf_counter()
        # Outside inference mode: the Detections are ordinary tensors later stages may modify in place.
        with torch.no_grad():
            dets = self.detections(raw.preds, raw.protos, raw.plan)
        timings = (("preprocess", raw.pre_ms), ("inference", raw.net_ms), ("postprocess", ms_since(t0)))
        return Detections(dets.boxes, dets.scores, dets.class_ids, dets.masks, self.names, timings)

    def detections(self, pred: torch.Tensor, protos: torch.Tensor, plan: Letterbox) -> Detections:
        # A one-to-one (end-to-end) head has no duplicates to suppress: top-k selection, no NMS.
        choose = select_end_to_end if self.info.end2end else select
        rows = choose(pred.float(), len(self.names), self.nms)
        boxes = boxes_to_original(rows[:, :4], plan)
        masks, keep = self.masks.build(protos, rows[:, 6:], boxes, plan.orig_hw)
        if not bool(keep.all()):  # the masks are the kept ones already
            rows, boxes = rows[keep], boxes[keep]
        dets = Detections(
            boxes=boxes.contiguous(),
            scores=rows[:, 4].contiguous(),
            class_ids=rows[:, 5].to(torch.int64),
            masks=masks,
            names=self.names,
        )
        return apply_prompt(dets, self.prompt)


def load_engine(config: EngineConfig) -> Engine | ArchEngine:
    """Load the configured model onto its device and warm it up; ``ModelError`` if that fails."""
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    path = config.model or DEMO_MODEL
    if config.model is None and not DEMO_MODEL.exists():
        raise ModelError(
            f"no model configured (engine.model) and the demo model {DEMO_MODEL} is not installed"
        )
    device = resolve_device(config.device)
    t0 = time.perf_counter()
    arch_engine = open_arch_engine(Path(path), config, device)  # Mask R-CNN, SegFormer, DETR exports
    if arch_engine is not None:
        return warmed_arch_engine(arch_engine, device, t0)
    network, backend = open_network(Path(path), config, device)
    engine = Engine(network, config)
    engine.warmup()
    info = engine.info
    log_loaded(
        info,
        device,
        engine.precision,
        engine.imgsz,
        t0,
        backend=backend.name,
        backend_reason=backend.reason,
        scale=info.scale,
        end2end=info.end2end,
        threads=torch.get_num_threads() if device.type == "cpu" else None,
    )
    return engine


def warmed_arch_engine(engine: ArchEngine, device: torch.device, t0: float) -> ArchEngine:
    engine.warmup()
    log_loaded(engine.info, device, engine.precision, engine.imgsz, t0, backend=engine.backend)
    return engine


def log_loaded(
    info: ModelInfo, device: torch.device, precision: str, imgsz: Sequence[int], t0: float, **extra: Any
) -> None:
    """The one ``engine_loaded`` event, for every kind of engine."""
    log.info(
        "engine_loaded",
        model=info.path,
        format=info.format,
        arch=info.arch,
        classes=list(info.names),
        device=str(device),
        precision=precision,  # logged so a silently missing FP16 shows up
        imgsz=list(imgsz),
        load_ms=round(ms_since(t0), 1),
        **extra,
    )
