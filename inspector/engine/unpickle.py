"""A restricted unpickler for torch zip checkpoints written by ultralytics.

Only tensor/storage rebuild functions and plain containers resolve to real code.
Model classes (``ultralytics.*``, ``torch.nn.modules.*``) become inert ``Placeholder``
objects that just remember the state they were given; weights, names and strides are
read from them afterwards. Any other global is refused before anything runs:
``torch.load(weights_only=False)`` is never called.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from typing import Any

import numpy as np
import torch

from inspector.errors import ModelError, UnsafeModelError

PLACEHOLDER_PREFIXES = ("ultralytics.", "torch.nn.modules.", "pathlib.")

STORAGE_DTYPES = {
    "HalfStorage": torch.float16,
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


class Placeholder:
    """Inert stand-in for an instance of a pickled class: keeps constructor args and state, runs nothing."""

    qualname = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Placeholder:
        obj = super().__new__(cls)
        obj.args = args
        obj.state = None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def field(self, name: str, default: Any = None) -> Any:
        """An attribute of the pickled object's ``__dict__`` (or ``default``)."""
        return self.state.get(name, default) if isinstance(self.state, dict) else default

    def __repr__(self) -> str:
        return f"<placeholder {self.qualname}>"


_placeholder_types: dict[str, type[Placeholder]] = {}


def placeholder_type(qualname: str) -> type[Placeholder]:
    if qualname not in _placeholder_types:
        cls = type(qualname.rsplit(".", 1)[-1], (Placeholder,), {"qualname": qualname})
        _placeholder_types[qualname] = cls
    return _placeholder_types[qualname]


class StorageType:
    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def rebuild_tensor(
    storage: torch.Tensor, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError("tensor rebuilt from something that is not a storage")
    return storage.as_strided(tuple(size), tuple(stride), int(offset))


def rebuild_parameter(data: torch.Tensor, *_: Any) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter rebuilt from something that is not a tensor")
    return data


def placeholder_attr(obj: Any, name: str) -> Placeholder:
    """``getattr`` restricted to placeholders (ultralytics pickles ``Detect.forward`` this way)."""
    if not (isinstance(obj, type) and issubclass(obj, Placeholder)) and not isinstance(obj, Placeholder):
        raise UnsafeModelError(f"getattr on {type(obj).__name__} is not allowed")
    return placeholder_type(f"{obj.qualname}.{name}")()


def numpy_scalar(dtype: np.dtype[Any], data: bytes | None = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("numpy scalar of an object dtype")
    return np.frombuffer(data or b"\0" * dtype.itemsize, dtype=dtype)[0]


def numpy_dtype(name: str, *_: Any) -> np.dtype[Any]:
    dtype = np.dtype(name)
    if dtype.hasobject:
        raise pickle.UnpicklingError("numpy object dtype")
    return dtype


SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "frozenset"): frozenset,
    ("builtins", "getattr"): placeholder_attr,
    ("__builtin__", "getattr"): placeholder_attr,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
    ("torch", "device"): torch.device,
    ("torch", "Size"): torch.Size,
    ("numpy", "dtype"): numpy_dtype,
    ("numpy.core.multiarray", "scalar"): numpy_scalar,
    ("numpy._core.multiarray", "scalar"): numpy_scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only allow-listed globals; storages come from the zip archive."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.prefix = prefix
        self.storages: dict[str, torch.Tensor] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(STORAGE_DTYPES[name])
        qualname = f"{module}.{name}"
        if qualname.startswith(PLACEHOLDER_PREFIXES) and name.isidentifier():
            return placeholder_type(qualname)
        raise UnsafeModelError(
            f"it references '{qualname}', which could run code while loading; refused (nothing was executed)"
        )

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.60}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError("storage of an unknown type")
        key = str(key)
        if key not in self.storages:
            raw = bytearray(self.archive.read(f"{self.prefix}/data/{key}"))
            dtype = storage_type.dtype
            tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            if tensor.numel() < int(numel):
                raise pickle.UnpicklingError(f"storage {key} is shorter than declared")
            self.storages[key] = tensor
        return self.storages[key]


def archive_prefix(archive: zipfile.ZipFile) -> str:
    """The top folder of a torch zip archive (it holds ``data.pkl``)."""
    for name in archive.namelist():
        if name.endswith("/data.pkl") and name.count("/") == 1:
            return name[: -len("/data.pkl")]
    raise ModelError("no data.pkl inside the archive")


def restricted_load(archive: zipfile.ZipFile) -> Any:
    """Unpickle ``data.pkl`` of a torch zip archive with only allow-listed globals."""
    prefix = archive_prefix(archive)
    if f"{prefix}/byteorder" in archive.namelist() and archive.read(f"{prefix}/byteorder") != b"little":
        raise ModelError("big-endian checkpoints are not supported")
    return RestrictedUnpickler(archive.read(f"{prefix}/data.pkl"), archive, prefix).load()


def pickled_globals(data: bytes) -> set[str]:
    """Globals a pickle refers to, found by reading opcodes without executing anything."""
    import pickletools

    found: set[str] = set()
    recent: list[str] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
            found.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(recent) >= 2:
            found.add(f"{recent[-2]}.{recent[-1]}")
        elif isinstance(arg, str):
            recent.append(arg)
    return found
