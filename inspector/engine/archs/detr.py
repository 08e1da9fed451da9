"""DETR panoptic (transformers ``DetrForSegmentation``) exported to ONNX / OpenVINO.

The graph takes RGB in [0, 1] at the export size (normalisation inside) and returns class
logits (1, Q, C+1), boxes and mask logits (1, Q, H/4, W/4). The post-processing here is
transformers' ``post_process_panoptic_segmentation`` in numpy: queries that are not "no object"
and score above ``engine.conf`` vote per pixel (mask probability × score); a segment survives
when it wins more than ``engine.panoptic.overlap`` of its own mask; ``engine.panoptic.stuff``
classes fuse into one region each. Things become instances; stuff regions become instances of
their class too (``keep_stuff``), which rules may measure, use as an area_share region, or ignore.
Slow on a CPU: about 2 s per frame for DETR-R50 on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from inspector.engine.archs.base import ArchEngine, Instances, rgb_chw
from inspector.engine.archs.files import ArchFile
from inspector.engine.archs.options import PanopticOptions
from inspector.engine.archs.session import GraphSession, open_session
from inspector.engine.config import EngineConfig
from inspector.engine.loaders import ModelInfo
from inspector.errors import ConfigError, ModelError

ARCHS = ("detr-panoptic",)


@dataclass(frozen=True)
class Segment:
    id: int  # 1.. in the segmentation map
    label_id: int
    was_fused: bool
    score: float


def sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflows to inf for very negative logits: sigmoid 0, as torch
        return (1.0 / (1.0 + np.exp(-x.astype(np.float32)))).astype(np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def resized(probs: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(K, h, w) resized bilinearly (half-pixel centres) to (K, H, W)."""
    if probs.shape[1:] == hw:
        return probs
    return np.stack([cv2.resize(p, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR) for p in probs])


def panoptic(
    logits: np.ndarray,
    mask_logits: np.ndarray,
    hw: tuple[int, int],
    threshold: float,
    mask_threshold: float,
    overlap: float,
    fuse: frozenset[int],
) -> tuple[np.ndarray, list[Segment]]:
    """One image's (Q, C+1) logits and (Q, h, w) mask logits: the segmentation map (H, W) int32
    (0 = no segment) and its segments, as transformers' ``post_process_panoptic_segmentation``."""
    num_labels = logits.shape[-1] - 1
    probs = softmax(logits.astype(np.float32))
    scores, labels = probs.max(-1), probs.argmax(-1)
    keep = (labels != num_labels) & (scores > threshold)
    if not keep.any():
        return np.zeros(hw, np.int32), []
    mask_probs = resized(sigmoid(mask_logits[keep]), hw) * scores[keep][:, None, None]
    kept_labels, kept_scores = labels[keep], scores[keep]
    mask_labels = mask_probs.argmax(0)
    segmentation = np.zeros(hw, np.int32)
    segments: list[Segment] = []
    stuff: dict[int, int] = {}
    current = 0
    for k in range(len(kept_labels)):
        label = int(kept_labels[k])
        mask_k = mask_labels == k
        area, original = int(mask_k.sum()), int((mask_probs[k] >= mask_threshold).sum())
        if not (area > 0 and original > 0 and area / original > overlap):
            continue
        current = stuff[label] if label in stuff else current + 1
        segmentation[mask_k] = current
        segments.append(Segment(current, label, label in fuse, round(float(kept_scores[k]), 6)))
        if label in fuse:
            stuff[label] = current
    return segmentation, segments


def as_instances(segmentation: np.ndarray, segments: list[Segment], keep_stuff: bool) -> Instances:
    """One instance per segment id (a fused stuff region once, scored by its best part)."""
    hw = (segmentation.shape[0], segmentation.shape[1])
    best: dict[int, Segment] = {}
    for seg in segments:
        if (keep_stuff or not seg.was_fused) and (seg.id not in best or seg.score > best[seg.id].score):
            best[seg.id] = seg
    boxes, scores, ids, masks = [], [], [], []
    for seg in sorted(best.values(), key=lambda s: s.id):
        mask = segmentation == seg.id
        ys, xs = np.nonzero(mask)
        boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
        scores.append(seg.score)
        ids.append(seg.label_id)
        masks.append(mask)
    return Instances.collected(boxes, scores, ids, masks, hw)


class DetrEngine(ArchEngine):
    def __init__(self, info: ModelInfo, session: GraphSession, config: EngineConfig) -> None:
        super().__init__(info, session, config)
        self.input_name = session.input_names[0]
        self.options_ = config.panoptic
        self.fuse = stuff_ids(config.panoptic, self.names)

    def detect(self, frame: np.ndarray) -> Instances:
        hw = (frame.shape[0], frame.shape[1])
        h, w = self.imgsz
        image = frame if hw == (h, w) else cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
        out = self.session.run({self.input_name: rgb_chw(image)[None]})
        logits, mask_logits = out["logits"][0], out["pred_masks"][0]
        o = self.options_
        segmentation, segments = panoptic(
            logits, mask_logits, hw, self.config.conf, o.mask_threshold, o.overlap, self.fuse
        )
        return as_instances(segmentation, segments, o.keep_stuff)


def stuff_ids(options: PanopticOptions, names: tuple[str, ...]) -> frozenset[int]:
    unknown = [n for n in options.stuff if n not in names]
    if unknown:
        raise ConfigError(
            "engine.panoptic.stuff names classes the model does not have",
            (("engine.panoptic.stuff", f"{unknown}; the model has: {', '.join(names)}"),),
        )
    return frozenset(names.index(n) for n in options.stuff)


def open_detr(file: ArchFile, config: EngineConfig, device: torch.device) -> DetrEngine:
    names = file.names()
    if not names:
        raise ModelError(f"model file {file.path}: its DETR metadata has no class names")
    session = open_session(file, config, device, file.arch)
    if not {"logits", "pred_masks"} <= set(session.output_names):
        raise ModelError(
            f"model file {file.path}: a DETR panoptic graph returns logits and pred_masks; this one returns "
            f"{', '.join(session.output_names)}"
        )
    info = ModelInfo(
        path=str(file.path),
        format=file.kind.value,
        arch=file.arch,
        scale="",
        nc=len(names),
        names=names,
        params=sum(int(np.prod(s)) for s in file.weights.values()),
        imgsz=file.imgsz((480, 640)),
        stride=32,
        fixed_imgsz=True,
        weights_dtype="float32",
        extra={"output": "panoptic: things and stuff regions"},
    )
    return DetrEngine(info, session, config)
