"""TensorRT plan files without TensorRT: the metadata header, the build cache's key and paths.

A plan file is what ultralytics writes for ``format=engine``: a 4-byte little-endian length, that
many bytes of JSON metadata (ultralytics' keys: names, imgsz, stride, task, batch, args, end2end),
then the serialized engine. Plans inspector builds carry the same keys plus ``exporter``,
``tensorrt`` (the version that built it), ``gpu``, ``compute_capability``, ``precision`` and
``plan_key``, so one reader serves both kinds of file.

A plan only runs on the GPU model and TensorRT version it was built with. The build cache keys a
plan by everything that makes it valid (GPU name and compute capability, TensorRT version, the
ONNX file's SHA-256, input shape, batch and precision): a cached plan whose stored key differs from
the wanted one is rebuilt, never loaded. Everything here is pure file and string work; it is tested
on machines without a GPU.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inspector.engine.checkpoint import reason_of
from inspector.engine.exported import ExportMetadata, checked_metadata, export_metadata
from inspector.errors import ModelError

HOW = "ultralytics (format=engine) or `inspector model export SRC --format tensorrt` on this machine"
MAX_HEADER_BYTES = 1 << 24  # formats.sniff reads a header length below this as a plan's
REBUILD = (
    "rebuild it on this machine: `inspector model export SRC --format tensorrt` (or ultralytics "
    "format=engine) from the source model, or give engine.model the .onnx file and "
    "engine.backend tensorrt builds and caches a plan at first start"
)


@dataclass(frozen=True)
class PlanKey:
    """Everything a built plan is only valid for."""

    gpu: str  # torch.cuda.get_device_name(), e.g. "NVIDIA H100 80GB HBM3"
    compute_capability: str  # "9.0"
    tensorrt: str  # tensorrt.__version__ that builds and runs it
    onnx_sha256: str  # of the ONNX file the plan is built from
    input_shape: tuple[int, int, int, int]  # (batch, 3, h, w), fixed
    precision: str  # "fp16" | "fp32"

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "input_shape": list(self.input_shape)}

    def digest(self) -> str:
        """A short stable hash of the whole key: part of the cached file's name."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_folder(model: Path, cache_dir: Path | None) -> Path:
    """``engine.tensorrt.cache_dir``, else ``<model>.tensorrt/`` beside the ONNX file."""
    return cache_dir if cache_dir is not None else model.with_name(f"{model.name}.tensorrt")


def plan_path(model: Path, cache_dir: Path | None, key: PlanKey) -> Path:
    """Where the plan for ``key`` is cached: readable parts, then the digest of the whole key (so a
    plan for another GPU or TensorRT version has another name and both can share a folder)."""
    batch, _, h, w = key.input_shape
    name = f"{model.stem}.{key.precision}.b{batch}.{h}x{w}.{key.digest()}.engine"
    return cache_folder(model, cache_dir) / name


def encode_plan(meta: dict[str, Any], plan: bytes) -> bytes:
    header = json.dumps(meta, default=str).encode()
    return len(header).to_bytes(4, "little", signed=True) + header + plan


def write_plan(path: Path, meta: dict[str, Any], plan: bytes) -> None:
    """Header and plan written to a temporary file in the same folder, synced, then renamed over
    ``path``: a reader (or a daemon killed mid-build) never sees half a plan."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(encode_plan(meta, plan))
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise ModelError(f"cannot write the TensorRT plan {path}: {reason_of(exc)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def read_header(path: Path) -> tuple[int, dict[str, Any]]:
    """(offset of the serialized engine, metadata) of a plan file; ``ModelError`` naming the file
    when it has no readable header."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
            size = int.from_bytes(head, "little", signed=True) if len(head) == 4 else -1
            total = f.seek(0, os.SEEK_END)
            if not 0 < size <= min(total - 4, MAX_HEADER_BYTES):
                raise ValueError("no metadata header (4-byte length + JSON) before the engine")
            f.seek(4)
            meta = json.loads(f.read(size))
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({reason_of(exc)})") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ModelError(
            f"model file {path}: not a TensorRT plan with a metadata header ({reason_of(exc)}); "
            f"expected an export by {HOW}"
        ) from None
    if not isinstance(meta, dict):
        raise ModelError(f"model file {path}: its metadata header is not a JSON object; expected {HOW}")
    if 4 + size == total:
        raise ModelError(f"model file {path}: the metadata header is followed by no engine (truncated?)")
    return 4 + size, meta


def read_plan_metadata(path: Path) -> tuple[int, dict[str, Any], ExportMetadata]:
    """Offset, raw header and typed metadata of a plan file; a detection/pose/... export or an
    ``nms=True`` one is refused by name, as for every other export format."""
    offset, meta = read_header(path)
    checked = checked_metadata(path, meta, HOW)
    return offset, checked, export_metadata(path, checked, HOW)


def release(version: str) -> tuple[int, ...]:
    """(major, minor, patch) of a TensorRT version: what its plans must agree on."""
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else -1)
    return tuple(parts)


def check_plan_version(path: Path, meta: dict[str, Any], installed: str) -> None:
    """Refuse a plan whose header names another TensorRT release than the installed one (TensorRT
    would refuse it too, less clearly). ultralytics' headers carry no TensorRT version: those plans
    are checked by TensorRT itself when deserialized (see ``tensorrt.deserialize``)."""
    built = meta.get("tensorrt")
    if built is None:
        return
    if release(str(built)) != release(installed):
        raise ModelError(
            f"model file {path}: a TensorRT plan built with TensorRT {built}, but TensorRT {installed} "
            f"is installed; a plan runs only on the version that built it: {REBUILD}"
        )


def check_plan_gpu(path: Path, meta: dict[str, Any], gpu: str, compute_capability: str) -> None:
    """Refuse a plan whose header names another GPU model than this one."""
    built_gpu, built_cc = meta.get("gpu"), meta.get("compute_capability")
    if built_gpu is None or (built_gpu == gpu and built_cc == compute_capability):
        return
    raise ModelError(
        f"model file {path}: a TensorRT plan built for {built_gpu} (compute {built_cc}), but this "
        f"GPU is {gpu} (compute {compute_capability}); a plan runs only on the GPU model that built "
        f"it: {REBUILD}"
    )


def cached_plan_state(path: Path, key: PlanKey) -> str:
    """``"ok"`` when ``path`` holds a plan built for exactly ``key``; else why it must be
    (re)built: ``"missing"``, ``"unreadable"`` or ``"stale"`` (its stored key differs)."""
    if not path.is_file():
        return "missing"
    try:
        _, meta = read_header(path)
    except ModelError:
        return "unreadable"
    return "ok" if meta.get("plan_key") == key.as_dict() else "stale"


def plan_metadata(source: dict[str, Any], key: PlanKey, exporter: str) -> dict[str, Any]:
    """The header of a plan built by inspector: the source's ultralytics metadata (names, imgsz,
    ...) and what the plan is valid for."""
    args = source.get("args")
    args = args if isinstance(args, dict) else {}
    return {
        **source,
        "exporter": exporter,
        "batch": key.batch,
        "imgsz": list(key.input_shape[2:]),
        "args": {**args, "batch": key.batch, "half": key.precision == "fp16", "nms": False},
        "tensorrt": key.tensorrt,
        "gpu": key.gpu,
        "compute_capability": key.compute_capability,
        "precision": key.precision,
        "plan_key": key.as_dict(),
    }


def ready_rows(preds: tuple[int, ...], protos: tuple[int, ...], nc: int, end2end: bool) -> bool:
    """Whether predictions of shape ``preds`` are an end-to-end export's (B, K, 6+nm) ready rows
    (ultralytics YOLO26 ``nms=False``) rather than the head's (B, 4+nc+nm, anchors)."""
    nm = protos[1]
    return end2end and preds[2] == 6 + nm and preds[1] != 4 + nc + nm
