"""SegFormer (transformers ``SegformerForSemanticSegmentation``) exported to ONNX / OpenVINO.

The graph takes RGB in [0, 1] at the export size (the image processor's normalisation is inside
it) and returns logits at a quarter of that size. Here: the frame is resized to the export size
(as the image processor resizes), the logits upsampled bilinearly to the frame (transformers'
``post_process_semantic_segmentation``), softmax, argmax: a class map. Each 8-connected region of
a class, of at least ``engine.semantic.min_area_px`` pixels, is one instance (box, mask) scored
by the mean probability of its class over its pixels. Semantic defects (scratches, stains) are
judged by their area: the ``area_share`` rule kind measures a class's share of a region.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inspector.engine.archs.base import ArchEngine, Instances, rgb_chw
from inspector.engine.archs.files import ArchFile
from inspector.engine.archs.session import GraphSession, open_session
from inspector.engine.config import EngineConfig
from inspector.engine.loaders import ModelInfo
from inspector.errors import ModelError

ARCHS = ("segformer",)
CONNECTIVITY = 8


def upsampled(logits: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(C, h, w) logits resized bilinearly (half-pixel centres) to (H, W, C)."""
    hwc = np.ascontiguousarray(logits.transpose(1, 2, 0), dtype=np.float32)
    if hwc.shape[:2] == hw:
        return hwc
    if hwc.shape[2] <= 512:  # OpenCV's channel limit
        out = cv2.resize(hwc, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
        return out.reshape(hw[0], hw[1], -1)
    return np.stack(
        [cv2.resize(np.ascontiguousarray(hwc[:, :, c]), (hw[1], hw[0])) for c in range(hwc.shape[2])], 2
    )


def softmax_argmax(logits_hwc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class map (H, W) int64 and the winning class's probability (H, W) float32."""
    class_map = logits_hwc.argmax(axis=2)
    top = np.take_along_axis(logits_hwc, class_map[:, :, None], axis=2)[:, :, 0]
    total = np.exp(logits_hwc - top[:, :, None]).sum(axis=2)
    return class_map, (1.0 / total).astype(np.float32)


def regions(class_map: np.ndarray, prob: np.ndarray, classes: int, min_area: int) -> Instances:
    """One instance per 8-connected region of each class with at least ``min_area`` pixels."""
    hw = (class_map.shape[0], class_map.shape[1])
    boxes, scores, ids, masks = [], [], [], []
    for c in np.unique(class_map).tolist():
        if not 0 <= c < classes:
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            (class_map == c).astype(np.uint8), connectivity=CONNECTIVITY
        )
        for k in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[k])
            if area < min_area:
                continue
            crop = labels[y : y + h, x : x + w] == k
            mask = np.zeros(hw, dtype=bool)
            mask[y : y + h, x : x + w] = crop
            boxes.append((x, y, x + w, y + h))
            scores.append(float(prob[y : y + h, x : x + w][crop].mean()))
            ids.append(c)
            masks.append(mask)
    return Instances.collected(boxes, scores, ids, masks, hw)


class SegformerEngine(ArchEngine):
    def __init__(self, info: ModelInfo, session: GraphSession, config: EngineConfig) -> None:
        super().__init__(info, session, config)
        self.input_name = session.input_names[0]
        self.min_area = config.semantic.min_area_px

    def class_map(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame's class map and winning probabilities at its own size."""
        hw = (frame.shape[0], frame.shape[1])
        h, w = self.imgsz
        image = frame if hw == (h, w) else cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
        out = self.session.run({self.input_name: rgb_chw(image)[None]})
        return softmax_argmax(upsampled(out[self.session.output_names[0]][0], hw))

    def detect(self, frame: np.ndarray) -> Instances:
        class_map, prob = self.class_map(frame)
        return regions(class_map, prob, len(self.names), self.min_area)


def open_segformer(file: ArchFile, config: EngineConfig, device: torch.device) -> SegformerEngine:
    names = file.names()
    if not names:
        raise ModelError(f"model file {file.path}: its SegFormer metadata has no class names")
    session = open_session(file, config, device, file.arch)
    info = ModelInfo(
        path=str(file.path),
        format=file.kind.value,
        arch=file.arch,
        scale=str(file.metadata.get("variant", "")),
        nc=len(names),
        names=names,
        params=sum(int(np.prod(s)) for s in file.weights.values()),
        imgsz=file.imgsz((512, 512)),
        stride=32,
        fixed_imgsz=True,
        weights_dtype="float32",
        extra={"output": "semantic: one instance per connected region per class"},
    )
    return SegformerEngine(info, session, config)
