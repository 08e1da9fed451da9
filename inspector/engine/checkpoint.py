"""Reading YOLOv8-seg weights and metadata out of an ultralytics checkpoint tree of placeholders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from inspector.engine.unpickle import Placeholder

# Layer classes of yolov8-seg.yaml, in order; anything else is another architecture.
YOLOV8_SEG_LAYERS = [
    *("Conv", "Conv", "C2f", "Conv", "C2f", "Conv", "C2f", "Conv", "C2f", "SPPF"),
    *("Upsample", "Concat", "C2f", "Upsample", "Concat", "C2f"),
    *("Conv", "Concat", "C2f", "Conv", "Concat", "C2f", "Segment"),
]
SCALE_BY_STEM_WIDTH = {16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}
# torch's reader appends advice to its own messages ("This is an internal miniz error. If you
# are seeing this error, ..."): the operator's message says what is wrong with the file only.
TORCH_ADVICE = re.compile(
    r"\.?\s*\(?(This is an internal miniz error|If you are seeing this error|Could this error message be "
    r"improved).*$"
)
MAX_REASON = 200


@dataclass(frozen=True)
class CheckpointContent:
    """What a YOLOv8-seg checkpoint holds, independent of its file format."""

    state_dict: dict[str, torch.Tensor]
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
    text = TORCH_ADVICE.sub("", " ".join(str(exc).split()))
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


def read_ultralytics(ckpt: Any) -> CheckpointContent:
    """Weights and metadata of a YOLOv8-seg model; ValueError says why anything else is not one."""
    model = pick_model(ckpt)
    kind = model.qualname.rsplit(".", 1)[-1]
    if kind != "SegmentationModel":
        raise ValueError(f"it holds a {kind}, not a SegmentationModel (a -seg model is needed)")
    types = layer_types(model)
    if types != YOLOV8_SEG_LAYERS:
        raise ValueError(f"its layers ({' '.join(types[:6])} …) are not the YOLOv8-seg architecture")
    state = module_state(model)
    stem = state.get("model.0.conv.weight")
    cls_out = state.get("model.22.cv3.0.2.weight")
    if stem is None or cls_out is None or int(stem.shape[0]) not in SCALE_BY_STEM_WIDTH:
        raise ValueError("its weights do not match any YOLOv8-seg scale (n/s/m/l/x)")
    scale = SCALE_BY_STEM_WIDTH[int(stem.shape[0])]
    nc = int(cls_out.shape[0])
    stride = model.field("stride")
    train_args = ckpt.get("train_args") if isinstance(ckpt, dict) else None
    imgsz = imgsz_of(train_args.get("imgsz")) if isinstance(train_args, dict) else (640, 640)
    return CheckpointContent(
        state_dict=state,
        scale=scale,
        nc=nc,
        names=names_of(model.field("names"), nc),
        stride=int(stride.max()) if isinstance(stride, torch.Tensor) and stride.numel() else 32,
        imgsz=imgsz,
        fused="model.0.bn.weight" not in state,
        bn_eps=batchnorm_eps(model),
        extra={"ultralytics_version": str(ckpt.get("version", "")) if isinstance(ckpt, dict) else ""},
    )
