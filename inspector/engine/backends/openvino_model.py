"""Reading a model for OpenVINO: an IR (``.xml`` + ``.bin``, or the folder ultralytics writes
with ``metadata.yaml``) or an ONNX file (OpenVINO reads ONNX itself), and what it says about
itself.

Metadata, in ultralytics' keys (one reader, ``engine.exported``, serves every format):

* ONNX files: their ``metadata_props``, read by the ONNX backend's reader (``onnx_file``);
* IRs written by ``inspector model export``: the model's ``rt_info`` section ``framework``, each
  value ``str()`` of the Python value (where OpenVINO's own ONNX reader puts ``metadata_props``);
* IRs written by ultralytics: the ``metadata.yaml`` beside the ``.xml``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from inspector.engine.backends.extras import require
from inspector.engine.backends.onnx_file import read_onnx
from inspector.engine.checkpoint import reason_of
from inspector.engine.exported import ExportMetadata, checked_metadata, export_metadata, family_named_in
from inspector.engine.formats import FileKind, ir_in, sniff
from inspector.engine.loaders import ModelInfo
from inspector.errors import ModelError

HOW = "ultralytics (format=openvino or onnx) or `inspector model export --format openvino`"
# The precision a compiled model reports (INFERENCE_PRECISION_HINT's type name), as configured
RAN = {"f32": "f32", "float32": "f32", "bf16": "bf16", "bfloat16": "bf16", "f16": "f16", "float16": "f16"}


def cpu_capabilities(core: Any) -> list[str]:
    return [str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


METADATA_SECTION = "framework"  # rt_info section holding the metadata (as OpenVINO's ONNX reader names it)
ARCH_OF_FAMILY = {"yolov8": "yolov8-seg", "yolo11": "yolo11-seg", "yolo26": "yolo26-seg"}


def import_openvino() -> ModuleType:
    """``openvino`` without its usage telemetry. ``import openvino`` sends an event to Google
    Analytics through ``openvino_telemetry`` (and keeps a thread for it), and its converter sends
    more; a line PC's daemon must not phone home. OpenVINO falls back to its own no-op stub when
    ``openvino_telemetry`` cannot be imported, so it is made unimportable for this process before
    OpenVINO is first imported (if something imported either already, that is left as it is)."""
    if "openvino" not in sys.modules and "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import raises ImportError
    return require("openvino", "openvino")


@dataclass(frozen=True)
class ReadModel:
    """An ``openvino.Model`` with the file it came from and its metadata."""

    model: Any  # openvino.Model
    path: Path  # the .xml or .onnx
    meta: ExportMetadata
    quantised: bool  # holds FakeQuantize operations (an int8 model)


def model_file(path: Path) -> tuple[Path, FileKind]:
    """The .xml or .onnx to read; for an IR, its .bin must be there too."""
    kind = sniff(path)
    if kind not in (FileKind.OPENVINO, FileKind.ONNX):
        raise ModelError(f"model file {path}: {kind.described}; OpenVINO runs an OpenVINO IR or ONNX")
    xml = ir_in(path) if path.is_dir() else path
    if kind is FileKind.OPENVINO and not xml.with_suffix(".bin").is_file():
        raise ModelError(
            f"model file {xml}: its weights {xml.with_suffix('.bin').name} are missing; an OpenVINO IR "
            "is the .xml and the .bin written beside it"
        )
    return xml, kind


def literal(text: str) -> Any:
    """A metadata value written as ``str()`` of a Python value, back as that value."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text  # a plain string ("segment")


def rt_info_metadata(model: Any) -> dict[str, Any]:
    """The ``framework`` section of the model's ``rt_info`` as Python values ({} when absent)."""
    if not model.has_rt_info([METADATA_SECTION]):
        return {}
    section = model.get_rt_info()[METADATA_SECTION]
    if not isinstance(section, dict):
        return {}
    return {str(key): literal(value.astype(str)) for key, value in section.items()}


def yaml_metadata(xml: Path) -> dict[str, Any]:
    """ultralytics' ``metadata.yaml`` beside the .xml ({} when absent)."""
    import yaml

    file = xml.parent / "metadata.yaml"
    if not file.is_file():
        return {}
    try:
        meta = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelError(f"model file {xml}: its {file.name} cannot be read ({reason_of(exc)})") from None
    return meta if isinstance(meta, dict) else {}


def read_openvino_model(core: Any, path: Path) -> ReadModel:
    """The model at ``path`` read (not compiled), with its checked metadata."""
    xml, kind = model_file(path)
    # An ONNX file is read by the ONNX backend's reader first: the same metadata and the same
    # error for a truncated or damaged file, whichever backend runs it.
    onnx_meta = read_onnx(xml).metadata if kind is FileKind.ONNX else None
    try:
        model = core.read_model(str(xml))
    except Exception as exc:  # untrusted bytes: whatever breaks, the user gets one clear line
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        expected = "the .xml with the complete .bin written beside it" if xml.suffix != ".onnx" else "a file"
        raise ModelError(
            f"model file {xml}: OpenVINO cannot read it ({reason}); expected {expected} exported by {HOW}"
        ) from None
    meta = onnx_meta if onnx_meta is not None else rt_info_metadata(model) or yaml_metadata(xml)
    if "names" not in meta:  # another tool's metadata_props: not what an export of a YOLO model says
        meta = {}
    typed = export_metadata(xml, checked_metadata(xml, meta, HOW), HOW)
    check_outputs(model, xml, typed)
    quantised = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
    return ReadModel(model, xml, typed, quantised)


def check_outputs(model: Any, path: Path, meta: ExportMetadata) -> None:
    """Two outputs: predictions (rank 3) first, then prototypes (rank 4), as the Network contract
    says; anything else is not a segmentation export of a family inspector knows."""
    ranks = [output.get_partial_shape().rank.get_length() for output in model.outputs]
    if ranks != [3, 4] or len(model.inputs) != 1:
        raise ModelError(
            f"model file {path}: {len(model.inputs)} input(s) and outputs of rank {ranks}; expected one "
            f"image input and (predictions, mask prototypes) as a YOLO segmentation export by {HOW}"
        )


def arch_of(meta: ExportMetadata) -> str:
    if meta.head == "Segment26":
        return "yolo26-seg"
    return ARCH_OF_FAMILY.get(family_named_in(meta.description).lower(), "yolov8-seg")


def scale_of(description: str) -> str:
    """'n' from 'Ultralytics YOLO11n-seg model ...' ('?' when it names none)."""
    from inspector.engine.exported import PRETTY_ARCH

    found = PRETTY_ARCH.search(description)
    return found.group(2).lower() if found and found.group(2) else "?"


def weights_of(model: Any) -> tuple[int, str]:
    """Parameter count (weight constants) and their stored type (f32, f16, i8...)."""
    count, types = 0, set()
    for op in model.get_ops():
        if op.get_type_name() != "Constant":
            continue
        shape = list(op.get_output_shape(0))
        if len(shape) < 1:
            continue
        size = 1
        for side in shape:
            size *= side
        if size >= 16:  # weights, not shape constants
            count += size
            types.add(op.get_output_element_type(0).get_type_name())
    order = ("i8", "u8", "f16", "bf16", "f32")
    return count, next((t for t in order if t in types), ",".join(sorted(types)) or "unknown")


def model_info(read: ReadModel, kind: str, fixed_hw: tuple[int, int] | None) -> ModelInfo:
    """What the engine and ``engine_loaded`` need; ``fixed_hw`` is the graph's static input size."""
    meta = read.meta
    params, dtype = weights_of(read.model)
    return ModelInfo(
        path=str(read.path),
        format=kind,
        arch=arch_of(meta),
        scale=scale_of(meta.description),
        nc=len(meta.names),
        names=meta.names,
        params=params,
        imgsz=fixed_hw or meta.imgsz,
        stride=meta.stride,
        fixed_imgsz=fixed_hw is not None,
        weights_dtype="int8" if read.quantised else dtype,
        extra={"ultralytics_version": meta.version} if meta.version else {},
        end2end=meta.end2end,
    )
