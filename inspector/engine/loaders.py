"""Model files, recognised by their content (never by extension), turned into runnable modules.

* ultralytics checkpoints (``best.pt``, ``model.save()``; fp16 or fp32) via the restricted unpickler;
* the project's own format (``inspector model convert``), read with ``torch.load(weights_only=True)``;
* TorchScript exports by ultralytics, metadata from the embedded ``config.txt``.

Every failure is a ``ModelError`` naming the file and what was expected.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector.engine.archive import fail, open_archive
from inspector.engine.checkpoint import (
    CheckpointContent,
    NotSegmentation,
    imgsz_of,
    names_of,
    read_ultralytics,
    reason_of,
)
from inspector.engine.families.registry import FAMILIES, Family
from inspector.engine.model import parameter_count
from inspector.engine.unpickle import archive_prefix, pickled_globals, restricted_load
from inspector.errors import ConfigError, ModelError, UnsafeModelError

# The format tag predates the other families; version 2 adds ``arch`` and ``end2end`` (a file
# without them is YOLOv8-seg). YOLOv8-seg files are still written as version 1, which older
# inspector releases read; others as version 2, which those releases refuse by version.
OWN_FORMAT = "inspector.yolov8-seg"
OWN_FORMAT_VERSIONS = (1, 2)


@dataclass(frozen=True)
class ModelInfo:
    """What a model file is: shown by ``inspector model info`` and logged at load."""

    path: str
    format: str  # "ultralytics" | "inspector" | "torchscript"
    arch: str
    scale: str
    nc: int
    names: tuple[str, ...]
    params: int
    imgsz: tuple[int, int]
    stride: int
    fixed_imgsz: bool
    weights_dtype: str
    extra: dict[str, str] = field(default_factory=dict)
    end2end: bool = False  # the head runs its one-to-one branches: top-k selection instead of NMS

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "arch": self.arch,
            "end2end": self.end2end,
            "task": "segment",
            "scale": self.scale,
            "nc": self.nc,
            "names": list(self.names),
            "params": self.params,
            "imgsz": list(self.imgsz),
            "stride": self.stride,
            "fixed_imgsz": self.fixed_imgsz,
            "weights_dtype": self.weights_dtype,
            **self.extra,
        }


@dataclass(frozen=True)
class LoadedModel:
    """A runnable module (fp32, CPU, eval, BatchNorm fused) and its description."""

    module: nn.Module
    info: ModelInfo


def is_torchscript(archive: zipfile.ZipFile) -> bool:
    return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def family_named(arch: str, path: Path) -> Family:
    for family in FAMILIES:
        if family.arch == arch:
            return family
    raise fail(path, f"its architecture {arch!r} is not one this inspector knows")


def build_module(content: CheckpointContent, path: Path) -> tuple[nn.Module, int]:
    """The family's network with the checkpoint's weights, fp32, BatchNorm fused; and its (unfused) size."""
    family = family_named(content.arch, path)
    with torch.device("meta"):  # weights come from the file; skip random initialisation
        model = family.build(content.nc, content.scale, content.end2end)
    params = parameter_count(model)
    if content.fused:
        model.fuse()
    else:
        set_batchnorm_eps(model, content.bn_eps)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in content.state_dict.items()}
    try:
        model.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise fail(path, f"its weights do not fit {content.arch} {content.scale} ({first[:200]})") from None
    return model.fuse().eval().requires_grad_(False), params


def set_batchnorm_eps(model: nn.Module, eps: dict[str, float]) -> None:
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d) and name in eps:
            module.eps = eps[name]


def dtype_name(state: dict[str, torch.Tensor]) -> str:
    weight = state.get("model.0.conv.weight")
    return str(weight.dtype).removeprefix("torch.") if weight is not None else "unknown"


def from_content(content: CheckpointContent, path: Path, fmt: str) -> LoadedModel:
    module, params = build_module(content, path)
    info = ModelInfo(
        path=str(path),
        format=fmt,
        arch=content.arch,
        scale=content.scale,
        nc=content.nc,
        names=content.names,
        params=params,
        imgsz=content.imgsz,
        stride=content.stride,
        fixed_imgsz=False,
        weights_dtype=dtype_name(content.state_dict),
        extra=content.extra,
        end2end=content.end2end,
    )
    return LoadedModel(module, info)


def read_pickled_content(path: Path, archive: zipfile.ZipFile) -> tuple[CheckpointContent, str]:
    """Content of a pickled (non-TorchScript) archive and its format name."""
    try:
        prefix = archive_prefix(archive)
        globals_used = pickled_globals(archive.read(f"{prefix}/data.pkl"))
    except (ModelError, ValueError, pickle.UnpicklingError) as exc:
        raise fail(path, f"it is not a readable torch checkpoint ({exc})") from None
    if any(name.startswith("ultralytics.") for name in globals_used):
        try:
            return read_ultralytics(restricted_load(archive)), "ultralytics"
        except UnsafeModelError as exc:
            raise UnsafeModelError(f"model file {path}: {exc}") from None
        except NotSegmentation as exc:
            raise ModelError(f"model file {path}: {exc}") from None
        except Exception as exc:  # untrusted bytes: whatever breaks, the user gets one clear line
            raise fail(path, f"it is not a usable segmentation checkpoint: {reason_of(exc)}") from None
    return read_own(path), "inspector"


def read_own(path: Path) -> CheckpointContent:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).splitlines()[0][:200]
        raise UnsafeModelError(
            f"model file {path}: refused, it asks to run code while loading ({reason}); nothing was executed"
        ) from None
    except (RuntimeError, EOFError, ValueError) as exc:
        raise fail(path, f"it cannot be read ({reason_of(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != OWN_FORMAT:
        raise fail(path, "it is a torch file but holds no segmentation model")
    if data.get("format_version") not in OWN_FORMAT_VERSIONS:
        raise fail(path, f"inspector model format version {data.get('format_version')} is not supported")
    try:
        nc = int(data["nc"])
        return CheckpointContent(
            state_dict=dict(data["state_dict"]),
            arch=str(data.get("arch", "yolov8-seg")),
            end2end=bool(data.get("end2end", False)),
            scale=str(data["scale"]),
            nc=nc,
            names=names_of(data["names"], nc),
            stride=int(data["stride"]),
            imgsz=imgsz_of(data["imgsz"]),
            fused=bool(data["fused"]),
            bn_eps={str(k): float(v) for k, v in dict(data.get("bn_eps", {})).items()},
            extra={str(k): str(v) for k, v in dict(data.get("extra", {})).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(path, f"its inspector metadata is incomplete ({exc})") from None


def read_content(path: str | Path) -> tuple[CheckpointContent, str]:
    """Weights and metadata of a checkpoint file (not TorchScript) with its format name."""
    path = Path(path)
    with open_archive(path) as archive:
        if is_torchscript(archive):
            raise fail(path, "it is a TorchScript export, which holds no editable weights")
        return read_pickled_content(path, archive)


def load_model(
    path: str | Path, device: torch.device | None = None, end2end: bool | None = None
) -> LoadedModel:
    """Load any supported model file for inference (on the CPU; the engine moves it to its device,
    except TorchScript graphs, which are loaded onto ``device`` directly). ``end2end`` picks the
    head mode (``engine.end2end``); None runs the mode the file says."""
    path = Path(path)
    with open_archive(path) as archive:
        if is_torchscript(archive):
            from inspector.engine.torchscript import load_torchscript

            loaded: LoadedModel = load_torchscript(path, device)
            check_head_mode(loaded.info.end2end, end2end, loaded.info.arch, path, available=False)
            return loaded
        content, fmt = read_pickled_content(path, archive)
    return from_content(with_head_mode(content, end2end, path), path, fmt)


def check_head_mode(current: bool, wanted: bool | None, arch: str, path: Path, available: bool) -> None:
    """A ConfigError (engine.end2end) when the model cannot run the wanted head mode."""
    if wanted is None or wanted == current or available:
        return
    head = "one-to-one (end-to-end)" if wanted else "one-to-many (NMS)"
    raise ConfigError(
        f"engine.end2end: {str(wanted).lower()} asks for a head the model does not have",
        (("engine.end2end", f"{path} ({arch}) has no {head} head; use auto"),),
    )


def with_head_mode(content: CheckpointContent, wanted: bool | None, path: Path) -> CheckpointContent:
    """``content`` set to run the wanted head mode, if its weights hold that branch set."""
    family = family_named(content.arch, path)
    prefix = f"model.{family.head_index}.{'one2one_cv2' if wanted else 'cv2'}."
    available = family.end_to_end and any(k.startswith(prefix) for k in content.state_dict)
    check_head_mode(content.end2end, wanted, content.arch, path, available)
    return content if wanted is None else replace(content, end2end=wanted)


def save_own(content: CheckpointContent, path: str | Path, source: str) -> None:
    """Write the project's format: plain tensors and metadata that ``torch.load(weights_only=True)`` reads."""
    data = {
        "format": OWN_FORMAT,
        "format_version": 1 if content.arch == "yolov8-seg" else 2,
        "arch": content.arch,
        "end2end": content.end2end,
        "scale": content.scale,
        "nc": content.nc,
        "names": list(content.names),
        "stride": content.stride,
        "imgsz": list(content.imgsz),
        "fused": content.fused,
        "bn_eps": dict(content.bn_eps),
        "extra": {**content.extra, "converted_from": source},
        "state_dict": {k: v.detach().clone().contiguous() for k, v in content.state_dict.items()},
    }
    torch.save(data, Path(path))
