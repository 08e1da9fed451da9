"""``inspector model export DIR --arch segformer|detr``: a transformers checkpoint folder
(``config.json`` + ``model.safetensors``, as ``save_pretrained`` writes it) exported to ONNX with
torch.onnx (optimum does not support transformers 5), read offline (never the network).

The image processor's normalisation (``preprocessor_config.json``'s mean and std, else
ImageNet's) is put inside the graph, whose input is RGB in [0, 1] at the export size. The
written file then runs next to the eager transformers model on check images; the differences of
the raw outputs (and, for SegFormer, whether the class maps are identical) are printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

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
from inspector.errors import ModelError

if TYPE_CHECKING:
    from inspector.engine.export.registry import ExportRequest, ExportResult

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
DEFAULT_HW = {"segformer": (512, 512), "detr": (480, 640)}
CLASSES = {"segformer": "SegformerForSemanticSegmentation", "detr": "DetrForSegmentation"}
ARCH = {"segformer": "segformer", "detr": "detr-panoptic"}
OUTPUTS = {"segformer": ("logits",), "detr": ("logits", "pred_boxes", "pred_masks")}


class Normalised(nn.Module):
    """RGB [0, 1] in, the processor's normalisation, the model's raw outputs out."""

    def __init__(
        self, model: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], outputs: tuple[str, ...]
    ) -> None:
        super().__init__()
        self.model = model
        self.outputs = outputs
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(pixel_values=(images - self.mean) / self.std)
        return tuple(getattr(out, name) for name in self.outputs)


def processor_of(folder: Path) -> dict[str, Any]:
    file = folder / "preprocessor_config.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{file}: cannot be read ({exc})") from None
    return data if isinstance(data, dict) else {}


def load(kind: str, folder: Path) -> nn.Module:
    if not (folder.is_dir() and (folder / "config.json").is_file()):
        raise ModelError(
            f"--arch {kind}: {folder} is not a transformers checkpoint folder (config.json and "
            "model.safetensors, as save_pretrained writes them)"
        )
    transformers = require_export("transformers")
    transformers.utils.logging.disable_progress_bar()  # stdout/stderr are the export's own report
    transformers.utils.logging.set_verbosity_error()
    try:
        model = getattr(transformers, CLASSES[kind]).from_pretrained(
            str(folder), local_files_only=True, use_safetensors=True
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"--arch {kind}: {folder} cannot be loaded as {CLASSES[kind]} ({str(exc)[:300]})"
        ) from None
    return model.eval()


def names_of(model: nn.Module, kind: str, given: tuple[str, ...] | None) -> tuple[str, ...]:
    config: Any = model.config
    count = int(config.num_labels)
    labels = {int(k): str(v) for k, v in dict(config.id2label or {}).items()}
    names = given or tuple(labels.get(i, str(i)) for i in range(count))
    if len(names) != count:
        raise ModelError(f"--names lists {len(names)} classes; the {kind} checkpoint has {count}")
    return tuple(names)


def compare(kind: str, engine: Any, module: nn.Module, frames: list[np.ndarray]) -> list[str]:
    """Raw outputs of the written graph vs the eager module; for SegFormer the class maps too."""
    worst, same_maps = 0.0, True
    for frame in frames:
        x = as_tensor(frame)[None]
        feed = {engine.session.input_names[0]: x.numpy()}
        got = engine.session.run(feed)
        with torch.no_grad():
            want = module(x)
        for name, ref in zip(OUTPUTS[kind], want, strict=True):
            worst = max(worst, float(np.abs(got[name] - ref.numpy()).max()))
        if kind == "segformer":
            logits = torch.nn.functional.interpolate(
                want[0], size=frame.shape[:2], mode="bilinear", align_corners=False
            )
            class_map, _ = engine.class_map(frame)
            same_maps &= bool(np.array_equal(class_map, logits.argmax(1)[0].numpy()))
    line = f"vs eager transformers on {len(frames)} check images: max abs diff of raw outputs {worst:.3g}"
    if kind == "segformer":
        line += f", class maps {'identical' if same_maps else 'DIFFER'}"
    return [line]


def export_hf(request: ExportRequest) -> ExportResult:
    from inspector.engine.export.registry import ExportResult

    check_format(request)
    kind = str(request.arch)
    model = load(kind, request.source)
    names = names_of(model, kind, request.names)
    processor = processor_of(request.source)
    mean = tuple(processor.get("image_mean", IMAGENET[0]))
    std = tuple(processor.get("image_std", IMAGENET[1]))
    hw = request.imgsz or DEFAULT_HW[kind]
    module = Normalised(model, mean, std, OUTPUTS[kind]).eval()
    staged = request.output.with_name(f".{request.output.name}.onnx.tmp")
    try:
        to_onnx(module, as_tensor(check_frames(hw, 1)[0])[None], staged, ["images"], OUTPUTS[kind])
        written = write(request, staged, metadata(ARCH[kind], names, hw, request.source))
    finally:
        staged.unlink(missing_ok=True)
    engine = engine_for(written, request)
    checks = compare(kind, engine, module, check_frames(hw))
    detail = f"{ARCH[kind]}, {len(names)} classes, {hw[0]}x{hw[1]}, f32, opset 17"
    return ExportResult(path=written, max_abs_diff=float("nan"), detail=detail, checks=tuple(checks))
