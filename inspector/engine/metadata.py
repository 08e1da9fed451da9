"""Class names of a model file, read without torch (``inspector check`` stays quick).

The three formats are zip archives: the inspector format and ultralytics checkpoints keep the
names in the pickle ``data.pkl``, TorchScript exports in ``extra/config.txt`` (JSON). The pickle
is read with an unpickler that resolves NO global: every class or function it names becomes an
inert ``Stub`` and tensors are skipped, so nothing in the file runs and nothing is imported.
Any file this cannot read gives ``None``: the loader (``inspector run``) says what is wrong.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

from inspector.engine.archive import open_archive
from inspector.engine.formats import FileKind, sniff
from inspector.errors import ModelError

DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo-pcb-seg.pt"
MAX_METADATA_BYTES = 64 * 1024**2  # data.pkl of a yolov8x checkpoint is a few MiB; tensors live elsewhere


class Stub:
    """Whatever the pickle names: keeps its arguments and state, does nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None
        self.items: dict[Any, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # OrderedDict and friends
        self.items[key] = value

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def field(self, name: str) -> Any:
        """An attribute of the pickled object (its ``__dict__`` state)."""
        return self.state.get(name) if isinstance(self.state, dict) else None


class StubUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return Stub  # never import what a file names

    def persistent_load(self, pid: Any) -> Any:
        return None  # tensor storages: not needed for names


def archive_problem(path: Path) -> str | None:
    """What is wrong with a model file's zip archive (empty, truncated, corrupted, ...), or None:
    the loader's own check, without torch, so ``check`` refuses what loading would. An export
    (ONNX, OpenVINO, TensorRT) is no archive: its backend checks it at load."""
    try:
        if sniff(path) is not FileKind.TORCH:
            return None
        open_archive(path).close()
    except ModelError as exc:
        return str(exc)
    return None


def model_names(path: Path) -> tuple[str, ...] | None:
    """The model's class names in id order, or None when they cannot be read without torch."""
    try:
        with zipfile.ZipFile(path) as archive:
            return names_in(archive)
    except Exception:  # untrusted bytes (config.txt a list, JSON nested too deep): the loader says
        return None


def names_in(archive: zipfile.ZipFile) -> tuple[str, ...] | None:
    entries = {info.filename: info for info in archive.infolist()}
    config = next((n for n in entries if n.endswith("/extra/config.txt")), None)
    if config is not None:  # a TorchScript export
        return names_from(json.loads(read_entry(archive, entries[config])).get("names"))
    pickled = next((n for n in entries if n.endswith("/data.pkl") and n.count("/") == 1), None)
    if pickled is None:
        return None
    try:
        data = StubUnpickler(io.BytesIO(read_entry(archive, entries[pickled]))).load()
    except Exception:  # untrusted bytes: unreadable here means "checked at load", not a crash
        return None
    if not isinstance(data, dict):
        return None
    if "names" in data:  # the inspector format: a plain dict of metadata and tensors
        return names_from(data["names"])
    model = data.get("ema") or data.get("model")  # ultralytics: the EMA model first, as it loads
    return names_from(model.field("names")) if isinstance(model, Stub) else None


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_METADATA_BYTES:
        raise ValueError(f"{info.filename} is {info.file_size} bytes")
    return archive.read(info)


def names_from(raw: Any) -> tuple[str, ...] | None:
    """Names from a list, or a dict of id -> name (ids may be strings in JSON)."""
    if isinstance(raw, (list, tuple)) and raw:
        return tuple(str(n) for n in raw)
    if isinstance(raw, dict) and raw:
        by_id = {int(k): str(v) for k, v in raw.items()}
        if sorted(by_id) == list(range(len(by_id))):
            return tuple(by_id[i] for i in range(len(by_id)))
    return None
