"""Reading segmentation weights and metadata out of an ultralytics checkpoint tree of placeholders.

The checkpoint's own layer list names its family (``families.registry``); any other task or
architecture is refused by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from inspector.engine.families.registry import Family, identify
from inspector.engine.unpickle import Placeholder

# torch's reader appends advice to its own messages ("This is an internal miniz error. If you
# are seeing this error, ..."): the operator's message says what is wrong with the file only.
TORCH_ADVICE = re.compile(
    r"\.?\s*\(?(This is an internal miniz error|If you are seeing this error|Could this error message be "
    r"improved).*$"
)
TORCH_WHERE = re.compile(r"^\[enforce fail at [^\]]*\]\s*\.?\s*")  # where in torch's C++ it failed
MAX_REASON = 200


@dataclass(frozen=True)
class CheckpointContent:
    """What a segmentation checkpoint holds, independent of its file format."""

    state_dict: dict[str, torch.Tensor]
    arch: str  # a registry family: yolov8-seg, yolo11-seg, yolo26-seg
    end2end: bool  # the head runs its one-to-one branches (top-k selection, no NMS)
    scale: str
    nc: int
    names: tuple[str, ...]
    stride: int
    imgsz: tuple[int, int]
    fused: bool
    extra: dict[str, str]
    bn_eps: dict[str, float]  # BatchNorm eps per module path (ultralytics uses 1e-3, torch's default is 1e-5)


def reason_of(exc: BaseException) -> str:
    """An exception's message as one short line for an error about a model file (torch's
    messages span lines and end in advice meant for its own developers)."""
    text = TORCH_ADVICE.sub("", TORCH_WHERE.sub("", " ".join(str(exc).split())))
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def module_state(node: Placeholder, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of a pickled ``nn.Module`` tree, named as ``state_dict()`` would."""
    out: dict[str, torch.Tensor] = {}
    skip = node.field("_non_persistent_buffers_set") or set()
    for kind in ("_parameters", "_buffers"):
        for name, tensor in (node.field(kind) or {}).items():
            if isinstance(tensor, torch.Tensor) and name not in skip:
                out[prefix + name] = tensor
    for name, child in (node.field("_modules") or {}).items():
        if isinstance(child, Placeholder):
            out.update(module_state(child, f"{prefix}{name}."))
    return out


def batchnorm_eps(node: Placeholder, prefix: str = "") -> dict[str, float]:
    """``eps`` of every pickled BatchNorm2d, keyed by module path (it is not part of the state dict)."""
    out: dict[str, float] = {}
    for name, child in (node.field("_modules") or {}).items():
        if not isinstance(child, Placeholder):
            continue
        path = f"{prefix}{name}"
        if type(child).__name__ == "BatchNorm2d":
            out[path] = float(child.field("eps", 1e-5))
        out.update(batchnorm_eps(child, path + "."))
    return out


def layer_types(model: Placeholder) -> list[str]:
    layers = (model.field("_modules") or {}).get("model")
    if not isinstance(layers, Placeholder):
        return []
    return [type(m).__name__ for m in (layers.field("_modules") or {}).values()]


def names_of(raw: Any, nc: int) -> tuple[str, ...]:
    if isinstance(raw, dict):
        names = tuple(str(raw.get(i, f"class{i}")) for i in range(nc))
    elif isinstance(raw, (list, tuple)):
        names = tuple(str(n) for n in raw)
    else:
        names = tuple(f"class{i}" for i in range(nc))
    if len(names) != nc:
        raise ValueError(f"{len(names)} class names for {nc} classes")
    return names


def imgsz_of(raw: Any) -> tuple[int, int]:
    if isinstance(raw, int):
        return raw, raw
    if isinstance(raw, (list, tuple)) and len(raw) == 2:
        return int(raw[0]), int(raw[1])
    return 640, 640


def pick_model(ckpt: Any) -> Placeholder:
    """The model object in an ultralytics checkpoint dict (EMA first, as ultralytics does)."""
    if isinstance(ckpt, Placeholder):
        return ckpt
    if not isinstance(ckpt, dict):
        raise ValueError("the pickle holds no checkpoint dictionary")
    model = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(model, Placeholder):
        raise ValueError("the checkpoint holds no model")
    return model


class NotSegmentation(ValueError):
    """The checkpoint holds another task or architecture; the message names what it holds."""


# ultralytics model classes of other tasks, as a user would name the task.
OTHER_TASKS = {
    "DetectionModel": "detection",
    "PoseModel": "pose",
    "OBBModel": "oriented-box (OBB)",
    "ClassificationModel": "classification",
    "SemanticSegmentationModel": "semantic segmentation",
    "DepthModel": "depth",
}
SUPPORTED = "YOLOv8-seg, YOLO11-seg or YOLO26-seg"


def layers_of(model: Placeholder) -> list[Placeholder]:
    layers = (model.field("_modules") or {}).get("model")
    children = (layers.field("_modules") or {}) if isinstance(layers, Placeholder) else {}
    return [m for m in children.values() if isinstance(m, Placeholder)]


def head_of(model: Placeholder) -> Placeholder | None:
    layers = layers_of(model)
    return layers[-1] if layers else None


def generation_of(model: Placeholder, types: list[str]) -> str:
    """YOLOv8, YOLO11 or YOLO26 from the layer list and head (a best guess, only for messages):
    YOLO26 heads end in 26 or carry one-to-one branches, and its SPPF has a residual."""
    head = head_of(model)
    head_modules = (head.field("_modules") or {}) if head is not None else {}
    layers = layers_of(model)
    residual_sppf = any(type(m).__name__ == "SPPF" and m.field("add", False) is True for m in layers)
    if "C2fCIB" in types:
        return "YOLOv10"
    if (types and types[-1].endswith("26")) or residual_sppf or "one2one_cv2" in head_modules:
        return "YOLO26"
    if "C3k2" in types:
        return "YOLO11" if types[-1] != "Classify" else "YOLO11 or YOLO26"
    return "YOLOv8" if "C2f" in types else "ultralytics"


def family_of(model: Placeholder) -> Family:
    """The registry family of a pickled model; ``NotSegmentation`` names anything else."""
    kind = model.qualname.rsplit(".", 1)[-1]
    types = layer_types(model)
    task = OTHER_TASKS.get(kind)
    if kind == "SegmentationModel" and types and types[-1] == "SemanticSegment":
        task = "semantic segmentation"
    if task is not None:
        article = "an" if generation_of(model, types) == "ultralytics" else "a"
        raise NotSegmentation(
            f"{article} {generation_of(model, types)} {task} model: inspector needs a segmentation model "
            f"({SUPPORTED})"
        )
    family = identify(types) if kind == "SegmentationModel" else None
    if family is None:
        raise NotSegmentation(
            f"it holds a {kind} with layers {' '.join(types[:4])} … {' '.join(types[-2:])}, "
            f"not a {SUPPORTED} architecture"
        )
    return family


def head_end2end(state: dict[str, torch.Tensor], family: Family) -> bool:
    """The head mode ultralytics' predict runs on the file (``nms`` unset): one-to-many + NMS
    whenever those branches exist — predict sets the head's mode itself and ignores the pickled
    ``_end2end`` — and one-to-one only when fusing removed the one-to-many branches."""
    if not family.end_to_end:
        return False
    prefix = f"model.{family.head_index}."
    has_one2one = any(k.startswith(prefix + "one2one_cv2.") for k in state)
    has_one2many = any(k.startswith(prefix + "cv2.") for k in state)
    return has_one2one and not has_one2many


def read_ultralytics(ckpt: Any) -> CheckpointContent:
    """Weights and metadata of a supported segmentation model; ValueError says why anything else isn't."""
    model = pick_model(ckpt)
    family = family_of(model)
    state = module_state(model)
    try:
        scale, nc = family.scale_of(state), family.classes_of(state)
    except ValueError as exc:
        raise ValueError(f"its weights do not match any {family.arch} scale (n/s/m/l/x): {exc}") from None
    stride = model.field("stride")
    train_args = ckpt.get("train_args") if isinstance(ckpt, dict) else None
    imgsz = imgsz_of(train_args.get("imgsz")) if isinstance(train_args, dict) else (640, 640)
    return CheckpointContent(
        state_dict=state,
        arch=family.arch,
        end2end=head_end2end(state, family),
        scale=scale,
        nc=nc,
        names=names_of(model.field("names"), nc),
        stride=int(stride.max()) if isinstance(stride, torch.Tensor) and stride.numel() else 32,
        imgsz=imgsz,
        fused="model.0.bn.weight" not in state,
        bn_eps=batchnorm_eps(model),
        extra={"ultralytics_version": str(ckpt.get("version", "")) if isinstance(ckpt, dict) else ""},
    )
