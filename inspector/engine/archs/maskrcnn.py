"""Mask R-CNN (torchvision ``maskrcnn_resnet50_fpn`` and ``_v2``) exported to ONNX / OpenVINO.

Two kinds of file:

* ``inspector model export model.pth --arch maskrcnn_resnet50_fpn[_v2]``: metadata ``arch``
  (``maskrcnn-r50-fpn`` / ``-v2``), ``names``, ``imgsz``; the graph's own resize is scale 1 at
  that size, so the engine resizes each frame to fit it here (OpenCV) and maps boxes back; the
  graph returns the 28x28 mask logits' probabilities, pasted into the frame here exactly as
  torchvision's ``paste_masks_in_image`` does (expand by one pixel, integer box, bilinear resize,
  threshold 0.5), which saves most of a second per frame against pasting in the graph;
* a file exported with torchvision's standard recipe (one image input (3, H, W); outputs boxes,
  labels, scores, masks pasted in the graph): recognised by that signature, run as it is.

torchvision's label 0 is the background: inspector class id ``i`` is torchvision label ``i + 1``,
named by ``names[i]`` (``--names`` at export, ``engine.names`` for a standard-recipe file).
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

ARCHS = ("maskrcnn-r50-fpn", "maskrcnn-r50-fpn-v2")
OUTPUTS = ("boxes", "labels", "scores", "masks")
MASK_THRESHOLD = 0.5  # torchvision's documented threshold for its mask probabilities
INT64 = 7  # ONNX TensorProto.DataType
CLS_SCORE = "roi_heads.box_predictor.cls_score.bias"


def fits(dim: int | str, size: int) -> bool:
    """A fixed axis of that size, or a dynamic (named) one."""
    return dim == size or isinstance(dim, str)


def is_standard_export(file: ArchFile) -> bool:
    """torchvision's standard ONNX recipe: one image (3, H, W) (its recipe may leave every axis
    dynamic); boxes (N, 4), labels (N,) int64, scores (N,), masks (N, 1, H, W)."""
    ins, outs = file.inputs, file.outputs
    if len(ins) != 1 or len(ins[0].dims) != 3 or not fits(ins[0].dims[0], 3):
        return False
    ranks = tuple(len(o.dims) for o in outs)
    return ranks == (2, 1, 1, 4) and outs[1].elem_type == INT64 and fits(outs[0].dims[1], 4)


def recognise(file: ArchFile) -> bool:
    return file.arch in ARCHS or (not file.arch and is_standard_export(file))


def standard_names(file: ArchFile, config: EngineConfig) -> tuple[str, ...]:
    """Class names of a standard-recipe file: ``engine.names``, checked against the class count
    its box predictor holds (when its weights keep their torchvision names)."""
    classes = file.weights.get(CLS_SCORE, (0,))[0] - 1
    if not config.names:
        count = f"{classes} classes" if classes > 0 else "its classes"
        raise ModelError(
            f"model file {file.path}: a torchvision Mask R-CNN ONNX without class names; set "
            f"engine.names to {count} in label order (label 1 first; the background label 0 is left out), "
            "or export with `inspector model export model.pth --arch maskrcnn_resnet50_fpn --names ...`"
        )
    if classes > 0 and len(config.names) != classes:
        raise ModelError(
            f"engine.names lists {len(config.names)} classes but model file {file.path} has {classes} "
            "(background excluded)"
        )
    return tuple(config.names)


def fit_scale(frame_hw: tuple[int, int], imgsz: tuple[int, int]) -> tuple[int, int]:
    """The size a frame is resized to so the graph's own resize (min side to min(imgsz), max side
    at most max(imgsz), torchvision's rule) is scale 1."""
    h, w = frame_hw
    low, high = min(imgsz), max(imgsz)
    r = min(low / min(h, w), high / max(h, w))
    return max(round(h * r), 1), max(round(w * r), 1)


def paste_masks(probs: np.ndarray, boxes: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(N, 1, M, M) mask probabilities pasted into an (H, W) image at ``boxes``, as torchvision's
    ``paste_masks_in_image`` does (padding 1), thresholded: (N, H, W) bool."""
    n, height, width = len(boxes), hw[0], hw[1]
    out = np.zeros((n, height, width), dtype=bool)
    if n == 0:
        return out
    m = probs.shape[-1]
    padded = np.pad(probs.reshape(n, m, m).astype(np.float32), ((0, 0), (1, 1), (1, 1)))
    scale = np.float32((m + 2) / m)
    b = boxes.astype(np.float32)
    w_half, h_half = (
        (b[:, 2] - b[:, 0]) * np.float32(0.5) * scale,
        (b[:, 3] - b[:, 1]) * np.float32(0.5) * scale,
    )
    x_c, y_c = (b[:, 2] + b[:, 0]) * np.float32(0.5), (b[:, 3] + b[:, 1]) * np.float32(0.5)
    grown = np.stack([x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half], axis=1)
    ints = np.trunc(grown).astype(np.int64)  # torch's .to(int64) truncates toward zero
    for i, (x0, y0, x1, y1) in enumerate(ints.tolist()):
        w, h = max(x1 - x0 + 1, 1), max(y1 - y0 + 1, 1)
        mask = cv2.resize(padded[i], (w, h), interpolation=cv2.INTER_LINEAR)
        xa, xb, ya, yb = max(x0, 0), min(x1 + 1, width), max(y0, 0), min(y1 + 1, height)
        if xb > xa and yb > ya:
            out[i, ya:yb, xa:xb] = mask[ya - y0 : yb - y0, xa - x0 : xb - x0] > MASK_THRESHOLD
    return out


class MaskRcnnEngine(ArchEngine):
    """Frames through a Mask R-CNN graph; ``pasted``: a standard-recipe file (masks pasted in it)."""

    def __init__(self, info: ModelInfo, session: GraphSession, config: EngineConfig, pasted: bool) -> None:
        super().__init__(info, session, config)
        self.pasted = pasted
        self.input_name = session.input_names[0]

    def detect(self, frame: np.ndarray) -> Instances:
        hw = (frame.shape[0], frame.shape[1])
        sized = hw if self.pasted else fit_scale(hw, self.imgsz)
        image = (
            frame if sized == hw else cv2.resize(frame, (sized[1], sized[0]), interpolation=cv2.INTER_LINEAR)
        )
        out = self.session.run({self.input_name: rgb_chw(image)})
        # by position: torchvision returns boxes, labels, scores, masks, whatever the names
        raw_boxes, raw_labels, raw_scores, raw_masks = (out[name] for name in self.session.output_names[:4])
        boxes = raw_boxes.astype(np.float32).reshape(-1, 4)
        labels, scores = raw_labels.astype(np.int64).reshape(-1), raw_scores.astype(np.float32).reshape(-1)
        if sized != hw:  # torchvision's resize_boxes: per-axis ratio of original to resized size
            ratio = np.array([hw[1] / sized[1], hw[0] / sized[0]] * 2, dtype=np.float32)
            boxes = boxes * ratio
        if self.pasted:
            masks = raw_masks.reshape(len(boxes), *hw) > MASK_THRESHOLD
        else:
            masks = paste_masks(raw_masks, boxes, hw)
        keep = (labels >= 1) & (labels <= len(self.names))
        return Instances(boxes, scores, labels - 1, masks).kept(keep)


def open_maskrcnn(file: ArchFile, config: EngineConfig, device: torch.device) -> MaskRcnnEngine:
    standard = not file.arch
    names = standard_names(file, config) if standard else file.names()
    if not names:
        raise ModelError(f"model file {file.path}: its Mask R-CNN metadata has no class names")
    arch = "maskrcnn-r50-fpn" if standard and "roi_heads.box_head.fc6.weight" in file.weights else file.arch
    arch = arch or "maskrcnn"
    session = open_session(file, config, device, arch)
    if len(session.output_names) != len(OUTPUTS):
        raise ModelError(
            f"model file {file.path}: a Mask R-CNN graph returns {', '.join(OUTPUTS)}; this one returns "
            f"{', '.join(session.output_names)}"
        )
    info = ModelInfo(
        path=str(file.path),
        format=file.kind.value,
        arch=arch,
        scale="",
        nc=len(names),
        names=names,
        params=sum(int(np.prod(s)) for s in file.weights.values()),
        imgsz=file.imgsz((480, 640)),
        stride=32,
        fixed_imgsz=not standard,
        weights_dtype="float32",
        extra={
            "recipe": "torchvision standard (masks pasted in the graph)" if standard else "inspector export",
            # torchvision test-time settings given at export (--setting): none means torchvision's defaults
            **({"settings": str(file.metadata["settings"])} if file.metadata.get("settings") else {}),
        },
    )
    return MaskRcnnEngine(info, session, config, pasted=standard)
