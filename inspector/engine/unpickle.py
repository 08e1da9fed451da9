"""A restricted unpickler for torch zip checkpoints written by ultralytics.

Only tensor/storage rebuild functions, plain containers and numeric numpy scalars (older
ultralytics writes ``np.float64`` into ``best_fitness`` and ``train_metrics``) resolve to real code.
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


# Numeric kinds a scalar may have: bool, signed/unsigned int, float, complex. Objects, strings,
# datetimes and structured dtypes are never rebuilt.
NUMPY_SCALAR_KINDS = "biufc"


class NumpyDtype:
    """Inert description of a pickled ``numpy.dtype``: a validated name and byte order.

    The pickle's dtype state is read here rather than handed to numpy's own ``__setstate__``,
    so untrusted bytes never reach numpy's C code; a real dtype is built only for a scalar.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")):
            raise pickle.UnpicklingError("numpy dtype with an unexpected state")
        if any(part is not None for part in state[2:5]):
            raise pickle.UnpicklingError("structured or sub-array numpy dtypes are not supported")
        self.byteorder = state[1]

    def dtype(self) -> np.dtype[Any]:
        dtype = np.dtype(self.name)
        if self.byteorder == "<":
            return dtype.newbyteorder("<")
        return dtype.newbyteorder(">") if self.byteorder == ">" else dtype

    def __repr__(self) -> str:
        return f"<numpy dtype {self.byteorder}{self.name}>"


def numpy_dtype(name: Any, align: Any = False, copy: Any = True) -> NumpyDtype:
    """``numpy.dtype(name, align, copy)`` as pickled, for plain numeric names only ('f8', 'i4', 'b1' …)."""
    if not (isinstance(name, str) and len(name) <= 16 and name.isalnum()):
        raise pickle.UnpicklingError(f"numpy dtype {name!r:.40} is not a plain numeric type")
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise pickle.UnpicklingError(f"numpy dtype {name!r} is unknown") from None
    if dtype.kind not in NUMPY_SCALAR_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise pickle.UnpicklingError(f"numpy dtype {name!r} is not a plain numeric type")
    return NumpyDtype(name)


def numpy_scalar(spec: Any, data: Any = None) -> Any:
    """A numpy scalar (``np.float64`` in ``best_fitness``, …) from its dtype and raw bytes."""
    if not isinstance(spec, NumpyDtype):
        raise pickle.UnpicklingError("numpy scalar of something that is not a numeric dtype")
    dtype = spec.dtype()
    if not (isinstance(data, bytes) and len(data) == dtype.itemsize):
        raise pickle.UnpicklingError(f"numpy {spec.name} scalar without its {dtype.itemsize} data bytes")
    return np.frombuffer(data, dtype=dtype)[0]


def latin1_bytes(text: Any, encoding: Any) -> bytes:
    """``_codecs.encode(text, 'latin1')``: how protocol-2 pickles carry bytes (numpy scalar data)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed as (str, 'latin1') -> bytes")
    return text.encode("latin1")


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
    ("_codecs", "encode"): latin1_bytes,
    ("numpy.core.multiarray", "scalar"): numpy_scalar,
    ("numpy._core.multiarray", "scalar"): numpy_scalar,
}


def python3_name(module: str, name: str) -> str:
    """The Python 3 name of a global as a protocol-2 pickle spells it ('__builtin__.eval' is
    builtins.eval, 'commands.Popen' is subprocess.Popen): for messages only, nothing is imported."""
    import _compat_pickle

    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


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
        qualname = python3_name(module, name)
        if module.split(".", 1)[0] == "numpy":
            raise UnsafeModelError(
                f"it holds a numpy object ('{qualname}') that the safe loader does not rebuild "
                "(only numeric scalars); refused (nothing was executed)"
            )
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
