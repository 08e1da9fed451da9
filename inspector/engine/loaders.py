"""Model files, recognised by their content (never by extension), turned into runnable modules.

* ultralytics checkpoints (``best.pt``, ``model.save()``; fp16 or fp32) via the restricted unpickler;
* the project's own format (``inspector model convert``), read with ``torch.load(weights_only=True)``;
* TorchScript exports by ultralytics, metadata from the embedded ``config.txt``.

Every failure is a ``ModelError`` naming the file and what was expected.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector.engine.checkpoint import CheckpointContent, imgsz_of, names_of, read_ultralytics, reason_of
from inspector.engine.model import SegmentationModel, parameter_count
from inspector.engine.unpickle import archive_prefix, pickled_globals, restricted_load
from inspector.errors import ModelError, UnsafeModelError

EXPECTED = (
    "expected a YOLOv8-seg checkpoint saved by ultralytics (best.pt), an inspector model "
    "(written by 'inspector model convert') or an ultralytics TorchScript export"
)
OWN_FORMAT = "inspector.yolov8-seg"
OWN_FORMAT_VERSION = 1
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
# yolov8x-seg last.pt with optimizer state is ~0.9 GB; a file declaring far more is not a model
MAX_UNPACKED_BYTES = 4 * 1024**3
# torch stores entries uncompressed; a deflated entry that expands this much is a zip bomb
MAX_COMPRESSION_RATIO = 200


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "arch": self.arch,
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


def fail(path: Path, why: str) -> ModelError:
    return ModelError(f"model file {path}: {why}; {EXPECTED}")


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelError(f"model file {path} is a directory, not a file") from None
    except OSError as exc:
        raise ModelError(f"model file {path} cannot be read: {exc.strerror}") from None
    if not head:
        raise fail(path, "the file is empty")
    if head.startswith(LEGACY_TORCH_MAGIC[:4]) and LEGACY_TORCH_MAGIC[4:] in head + b"\0" * 16:
        raise fail(path, "it uses torch's legacy (pre-1.6) serialisation; re-save it with a recent torch")
    if not head.startswith(b"PK"):
        raise fail(path, "it is not a torch zip archive")
    try:
        archive = zipfile.ZipFile(path)
        check_unpacked_size(path, archive)
        bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise fail(path, f"the archive is truncated or corrupted ({exc})") from None
    if bad is not None:
        raise fail(path, f"the archive is corrupted (bad CRC in {bad})")
    return archive


def check_unpacked_size(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse archives whose entries would unpack to absurd sizes, before any is read (zipfile
    never yields more than an entry's declared size, so the declared sizes bound the reads)."""
    total = 0
    for entry in archive.infolist():
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.compress_type != zipfile.ZIP_STORED and ratio > MAX_COMPRESSION_RATIO:
            raise fail(path, f"entry {entry.filename} expands {ratio:.0f}x when unpacked (a zip bomb?)")
    if total > MAX_UNPACKED_BYTES:
        raise fail(
            path,
            f"it would unpack to {human_size(total)} (limit {human_size(MAX_UNPACKED_BYTES)})",
        )


def human_size(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:.1f} MiB"


def is_torchscript(archive: zipfile.ZipFile) -> bool:
    return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def build_module(content: CheckpointContent, path: Path) -> tuple[nn.Module, int]:
    """SegmentationModel with the checkpoint's weights, fp32, BatchNorm fused; and its (unfused) size."""
    with torch.device("meta"):  # weights come from the file; skip random initialisation
        model = SegmentationModel(content.nc, content.scale)
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
        raise fail(path, f"its weights do not fit YOLOv8{content.scale}-seg ({first[:200]})") from None
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
        arch="yolov8-seg",
        scale=content.scale,
        nc=content.nc,
        names=content.names,
        params=params,
        imgsz=content.imgsz,
        stride=content.stride,
        fixed_imgsz=False,
        weights_dtype=dtype_name(content.state_dict),
        extra=content.extra,
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
        except Exception as exc:  # untrusted bytes: whatever breaks, the user gets one clear line
            raise fail(path, f"it is not a usable YOLOv8-seg checkpoint: {reason_of(exc)}") from None
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
        raise fail(path, "it is a torch file but holds no YOLOv8-seg model")
    if data.get("format_version") != OWN_FORMAT_VERSION:
        raise fail(path, f"inspector model format version {data.get('format_version')} is not supported")
    try:
        nc = int(data["nc"])
        return CheckpointContent(
            state_dict=dict(data["state_dict"]),
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


def load_model(path: str | Path, device: torch.device | None = None) -> LoadedModel:
    """Load any supported model file for inference (on the CPU; the engine moves it to its device,
    except TorchScript graphs, which are loaded onto ``device`` directly)."""
    path = Path(path)
    with open_archive(path) as archive:
        if is_torchscript(archive):
            from inspector.engine.torchscript import load_torchscript

            return load_torchscript(path, device)  # type: ignore[no-any-return]
        content, fmt = read_pickled_content(path, archive)
    return from_content(content, path, fmt)


def save_own(content: CheckpointContent, path: str | Path, source: str) -> None:
    """Write the project's format: plain tensors and metadata that ``torch.load(weights_only=True)`` reads."""
    data = {
        "format": OWN_FORMAT,
        "format_version": OWN_FORMAT_VERSION,
        "arch": "yolov8-seg",
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
