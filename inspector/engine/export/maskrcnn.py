"""``inspector model export model.pth --arch maskrcnn_resnet50_fpn[_v2] --names a,b,c``.

The source is a torchvision Mask R-CNN ``state_dict`` (``torch.save(model.state_dict())``, or a
torchvision reference-script checkpoint ``{"model": state_dict, ...}``), read with
``torch.load(weights_only=True)``: a pickled whole module is refused by the class it names, and
nothing in it runs. v1 or v2 and the class count come from the weights (``box_head.fc6`` vs
``box_head.0.0``; ``cls_score`` rows, background included).

The graph is exported with ``min_size``/``max_size`` equal to the export size, so its own resize
is scale 1 (the engine resizes frames with OpenCV: the in-graph resize of another size rounds one
pixel off torchvision's), and it returns the 28x28 mask probabilities instead of pasting them (the
engine pastes them with OpenCV, as torchvision does, in a few ms instead of most of a second).
Then the written file runs in the engine on check images next to eager torchvision on the same
weights, and the differences are printed.
"""

from __future__ import annotations

import pickle
import re
import types
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from inspector.engine.archs.maskrcnn import ARCHS as MASKRCNN_ARCHS
from inspector.engine.export.archs import (
    as_tensor,
    check_format,
    check_frames,
    engine_for,
    metadata,
    require_export,
    to_onnx,
    write,
)
from inspector.engine.export.maskrcnn_settings import builder_kwargs
from inspector.errors import ModelError, UnsafeModelError

if TYPE_CHECKING:
    from inspector.engine.export.registry import ExportRequest, ExportResult

BUILDERS = {"maskrcnn_resnet50_fpn": MASKRCNN_ARCHS[0], "maskrcnn_resnet50_fpn_v2": MASKRCNN_ARCHS[1]}
DEFAULT_HW = (480, 640)
MIN_MASK_PX = 200  # masks compared by IoU: a 1-px shift of a tiny mask is not a disagreement


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        named = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({named.group(1)})" if named else ""
        raise UnsafeModelError(
            f"model file {path}: refused, it is a pickled object{what}, not a state_dict; "
            "nothing was executed. "
            "Save the weights with torch.save(model.state_dict(), 'model.pth') and export that"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise ModelError(
            f"model file {path}: cannot be read as a torch state_dict ({str(exc)[:200]})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]  # torchvision's reference training scripts save {"model": ..., "optimizer": ...}
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(f"model file {path}: expected a Mask R-CNN state_dict (parameter name -> tensor)")
    return {k.removeprefix("module."): v for k, v in data.items()}


def variant_of(state: dict[str, torch.Tensor], path: Path) -> tuple[str, int]:
    """(torchvision builder, classes including background) read from the weights."""
    scores = state.get("roi_heads.box_predictor.cls_score.weight")
    if scores is None or "roi_heads.mask_predictor.mask_fcn_logits.weight" not in state:
        raise ModelError(
            f"model file {path}: not a Mask R-CNN state_dict (no box and mask predictor weights)"
        )
    if "roi_heads.box_head.fc6.weight" in state:
        return "maskrcnn_resnet50_fpn", int(scores.shape[0])
    if "roi_heads.box_head.0.0.weight" in state:
        return "maskrcnn_resnet50_fpn_v2", int(scores.shape[0])
    raise ModelError(f"model file {path}: a Mask R-CNN whose box head is neither torchvision's v1 nor v2")


def build(
    builder: str,
    classes: int,
    hw: tuple[int, int],
    state: dict[str, torch.Tensor],
    path: Path,
    settings: Sequence[tuple[str, float]] = (),
) -> nn.Module:
    detection = require_export("torchvision.models.detection")
    model = getattr(detection, builder)(
        weights=None, weights_backbone=None, num_classes=classes, min_size=min(hw), max_size=max(hw),
        **builder_kwargs(settings),
    )  # fmt: skip
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ModelError(f"model file {path}: its weights do not fit {builder} ({first[:200]})") from None
    return model.eval()


def boxes_only_postprocess(
    self: Any, result: list[dict[str, torch.Tensor]], image_shapes: Any, original_sizes: Any
) -> Any:
    """torchvision's ``GeneralizedRCNNTransform.postprocess`` without the mask paste: boxes back
    to the input size (scale 1 here), masks stay (N, 1, 28, 28) probabilities."""
    from torchvision.models.detection.transform import resize_boxes

    for pred, im_s, o_im_s in zip(result, image_shapes, original_sizes, strict=True):
        pred["boxes"] = resize_boxes(pred["boxes"], im_s, o_im_s)
    return result


class Unpasted(nn.Module):
    """One image (3, H, W) in [0, 1] to boxes, labels, scores and 28x28 mask probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        model.transform.postprocess = types.MethodType(boxes_only_postprocess, model.transform)  # type: ignore[union-attr]

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model([image])[0]
        return out["boxes"], out["labels"], out["scores"], out["masks"]


def tie_order(
    boxes: np.ndarray, scores: np.ndarray, ref_boxes: np.ndarray, ref_scores: np.ndarray
) -> np.ndarray:
    """Per engine instance, the eager one to compare it with: itself, unless scores within 1e-5
    put equal-scoring instances in the other order (both sides sort by score; a random or
    untrained head gives such ties), then the tied one with the nearest box."""
    order = np.arange(len(scores))
    free = np.ones(len(ref_scores), dtype=bool)
    for i in order:
        tied = np.flatnonzero(free & (np.abs(ref_scores - scores[i]) <= 1e-5))
        if len(tied) > 1 or (len(tied) == 1 and tied[0] != i):
            order[i] = tied[np.abs(ref_boxes[tied] - boxes[i]).max(1).argmin()]
        free[order[i]] = False
    return order


def eager_mask_at(
    box: np.ndarray, eager_box: np.ndarray, probs: np.ndarray, hw: tuple[int, int]
) -> np.ndarray:
    """torchvision's mask of an instance (its (1, 28, 28) ``probs``) pasted by torchvision: at its
    own box, as eager torchvision returns it, or at ``box`` (the engine's) where the two boxes fall
    on different whole pixels. torchvision grows a box by 30/28 and truncates it before the paste:
    a grown edge within float noise of a whole pixel truncates a pixel apart on either side and
    moves the whole mask (seen: boxes 0.0002 px apart, mask IoU 0.855); the paste itself is
    torchvision's on both sides."""
    from torchvision.models.detection.roi_heads import expand_boxes, paste_masks_in_image

    boxes = torch.from_numpy(np.stack([box, eager_box]).astype(np.float32))
    grid = expand_boxes(boxes, 30 / 28).to(torch.int64)
    at = boxes[1:] if torch.equal(grid[0], grid[1]) else boxes[:1]
    pasted = paste_masks_in_image(torch.from_numpy(probs[None].astype(np.float32)), at, hw)
    return np.asarray(pasted[0, 0].numpy() > 0.5)


def compare(engine: Any, eager: Unpasted, frames: list[np.ndarray]) -> list[str]:
    """Engine vs eager torchvision per check image: labels, box and score differences, mask IoU."""
    lines, worst_box, worst_score, worst_iou, same = [], 0.0, 0.0, 1.0, True
    for i, frame in enumerate(frames):
        (det,) = engine.infer([frame])
        with torch.no_grad():
            ref_boxes, ref_labels, ref_scores, ref_probs = (t.numpy() for t in eager(as_tensor(frame)))
        labels = ref_labels - 1
        boxes, scores = det.boxes.numpy(), det.scores.numpy()
        order = tie_order(boxes, scores, ref_boxes, ref_scores) if len(det) == len(labels) else None
        if order is None or not np.array_equal(det.class_ids.numpy(), labels[order]):
            same = False
            lines.append(f"image {i}: {len(det)} instances vs torchvision's {len(labels)} (labels differ)")
            continue
        if len(labels):
            worst_box = max(worst_box, float(np.abs(boxes - ref_boxes[order]).max()))
            worst_score = max(worst_score, float(np.abs(scores - ref_scores[order]).max()))
        for mine, box, k in zip(det.masks.numpy(), boxes, order, strict=True):
            theirs = eager_mask_at(box, ref_boxes[k], ref_probs[k], frame.shape[:2])
            if theirs.sum() > MIN_MASK_PX:
                worst_iou = min(worst_iou, float((mine & theirs).sum() / max((mine | theirs).sum(), 1)))
    lines.insert(
        0,
        f"vs eager torchvision on {len(frames)} check images: labels {'equal' if same else 'DIFFER'}, "
        f"max box diff {worst_box:.3g} px, max score diff {worst_score:.3g}, "
        f"min mask IoU {worst_iou:.4f} (masks over {MIN_MASK_PX} px)",
    )
    return lines


def export_maskrcnn(request: ExportRequest) -> ExportResult:
    from inspector.engine.export.registry import ExportResult

    check_format(request)
    state = read_state_dict(request.source)
    builder, classes = variant_of(state, request.source)
    if request.arch != builder:
        raise ModelError(f"--arch {request.arch}: model file {request.source} holds {builder} weights")
    names = request.names or tuple(f"class{i}" for i in range(1, classes))
    if len(names) != classes - 1:
        raise ModelError(
            f"--names lists {len(names)} classes; model file {request.source} has {classes - 1} "
            "(its box predictor has one more row: torchvision's background label 0)"
        )
    hw = request.imgsz or DEFAULT_HW
    module = Unpasted(build(builder, classes, hw, state, request.source, request.settings))
    staged = request.output.with_name(f".{request.output.name}.onnx.tmp")
    example = as_tensor(check_frames(hw, 1)[0])
    axes = {
        "image": {1: "height", 2: "width"},
        **{n: {0: "instances"} for n in ("boxes", "labels", "scores", "masks")},
    }
    try:
        to_onnx(module, example, staged, ["image"], ["boxes", "labels", "scores", "masks"], axes)
        meta = metadata(
            BUILDERS[builder], names, hw, request.source, background="torchvision label 0 (not a class)",
            settings=dict(builder_kwargs(request.settings)),
        )  # fmt: skip
        written = write(request, staged, meta)
    finally:
        staged.unlink(missing_ok=True)
    engine = engine_for(written, request, max_det=1000)
    eager = Unpasted(build(builder, classes, hw, state, request.source, request.settings))
    checks = compare(engine, eager, check_frames(hw))
    given = "".join(f", {name}={value:g}" for name, value in request.settings)
    detail = (
        f"{BUILDERS[builder]}, {len(names)} classes, {hw[0]}x{hw[1]}, f32, opset 17, "
        f"28x28 masks pasted by the engine{given}"
    )
    return ExportResult(path=written, max_abs_diff=float("nan"), detail=detail, checks=tuple(checks))
