"""What an ONNX file says about itself (metadata, input, outputs, weight shapes), read straight
from its protobuf: every backend that runs ``.onnx`` reads it the same way without the ``onnx``
package, and a truncated or foreign file is named before any runtime parses it.

ultralytics and inspector exports share metadata keys (each value ``str()`` of a Python value).
``describe_onnx`` checks the file is a segmentation export the engine can run and says how: its
input, its batch, and whether its first output is end-to-end rows (YOLO26 ``nms=False``: (B, K,
6+nm), for ``rows_as_pairs``) or the ``Network`` contract's predictions (B, 4+nc+nm, A).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inspector.engine.backends.onnx_proto import Malformed, Span, fields, packed, span_of, text
from inspector.engine.exported import PRETTY_ARCH, checked_metadata, export_metadata
from inspector.engine.families.registry import c3k2_scale, yolov8_scale
from inspector.engine.loaders import ModelInfo, check_head_mode
from inspector.engine.torchscript import arch_of
from inspector.errors import ModelError

HOW = "ultralytics (format=onnx) or inspector model export --format onnx"
EXPECTED = "expected an ONNX segmentation export by ultralytics or inspector"
LITERAL_KEYS = frozenset({"stride", "batch", "imgsz", "names", "args", "end2end", "channels", "kpt_shape"})
ELEM_TYPES = {1: torch.float32, 10: torch.float16}  # TensorProto.DataType of an input
ARCH_OF_FAMILY = {
    "yolov8": "yolov8-seg",
    "fastsam": "yolov8-seg",
    "yolo11": "yolo11-seg",
    "yolo26": "yolo26-seg",
}


@dataclass(frozen=True)
class TensorSignature:
    name: str
    elem_type: int  # TensorProto.DataType (1 float32, 10 float16)
    dims: tuple[int | str, ...]  # a fixed size, or the name of a dynamic axis


@dataclass(frozen=True)
class OnnxFile:
    path: Path
    metadata: dict[str, Any]  # metadata_props, literal values parsed
    inputs: tuple[TensorSignature, ...]  # graph inputs that are not weights
    outputs: tuple[TensorSignature, ...]
    weights: dict[str, tuple[int, ...]]  # initializer name -> shape
    weights_dtype: str


@dataclass(frozen=True)
class OnnxGraph:
    """How to run an ONNX segmentation export."""

    info: ModelInfo
    input: TensorSignature
    outputs: tuple[TensorSignature, TensorSignature]  # predictions, prototypes
    dtype: torch.dtype  # of the input
    batch: int  # the graph's fixed batch; 0: dynamic
    rows: bool  # predictions are end-to-end rows (B, K, 6+nm)


def signature(buf: bytes, span: Span) -> TensorSignature:
    """A ValueInfoProto: name, element type and shape of a tensor."""
    name, elem, dims = "", 0, []
    for number, value in fields(buf, span):
        if number == 1:
            name = text(buf, value)
        elif number == 2:  # TypeProto
            for tn, tensor in fields(buf, span_of(value)):
                if tn != 1:  # not a tensor type
                    continue
                for en, ev in fields(buf, span_of(tensor)):
                    if en == 1 and isinstance(ev, int):
                        elem = ev
                    elif en == 2:  # TensorShapeProto
                        dims += [dim(buf, span_of(d)) for dn, d in fields(buf, span_of(ev)) if dn == 1]
    return TensorSignature(name, elem, tuple(dims))


def dim(buf: bytes, span: Span) -> int | str:
    for number, value in fields(buf, span):
        if number == 1 and isinstance(value, int):
            return value
        if number == 2:
            return text(buf, value)
    return "?"


def initializer(buf: bytes, span: Span) -> tuple[str, tuple[int, ...], int]:
    """A TensorProto's name, shape and data type (its data is skipped)."""
    name, dims, dtype = "", [], 0
    for number, value in fields(buf, span):
        if number == 1:
            dims += [value] if isinstance(value, int) else packed(buf, value)
        elif number == 2 and isinstance(value, int):
            dtype = value
        elif number == 8:
            name = text(buf, value)
    return name, tuple(dims), dtype


def literal(path: Path, key: str, value: str) -> Any:
    if key not in LITERAL_KEYS:
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ModelError(
            f"model file {path}: its ONNX metadata {key}={value[:40]!r} is malformed; "
            f"export it again with {HOW}"
        ) from None


def parse(path: Path, buf: bytes) -> OnnxFile:
    meta: dict[str, Any] = {}
    graph: Span | None = None
    for number, value in fields(buf, (0, len(buf))):
        if number == 7:
            graph = span_of(value)
        elif number == 14:
            entry = dict(fields(buf, span_of(value)))
            key = text(buf, entry.get(1, (0, 0)))
            meta[key] = literal(path, key, text(buf, entry.get(2, (0, 0))))
    if graph is None:
        raise Malformed("it holds no graph")
    values: dict[int, list[Span]] = {5: [], 11: [], 12: []}
    for number, value in fields(buf, graph):
        if number in values:
            values[number].append(span_of(value))
    weights: dict[str, tuple[int, ...]] = {}
    types: set[int] = set()
    for span in values[5]:
        name, shape, elem_type = initializer(buf, span)
        weights[name] = shape
        types.add(elem_type)
    inputs = tuple(s for s in (signature(buf, v) for v in values[11]) if s.name not in weights)
    dtype = {frozenset({1}): "float32", frozenset({10}): "float16"}.get(frozenset(types), "mixed")
    return OnnxFile(path, meta, inputs, tuple(signature(buf, v) for v in values[12]), weights, dtype)


def read_onnx(path: Path) -> OnnxFile:
    """The file's metadata and signature; a ``ModelError`` naming the file when it is not a
    complete ONNX model (truncated by a copy, or another kind of file)."""
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return parse(path, buf)
    except Malformed as exc:
        raise ModelError(
            f"model file {path}: not a complete ONNX model ({exc}; truncated or damaged?); {EXPECTED}"
        ) from None


def family_of(
    description: str, head: str, weights: dict[str, tuple[int, ...]], rows: bool
) -> tuple[str, str]:
    """(arch, scale): from the description ultralytics and inspector write ("YOLO11n-seg"), else
    from the head's class, the output signature (end-to-end rows are YOLO26) and weight names."""
    found = PRETTY_ARCH.search(description)
    if found:
        arch, scale = ARCH_OF_FAMILY[found.group(1).lower()], (found.group(2) or "").lower()
    else:
        arch, scale = ("yolo26-seg" if rows else arch_of(head, set(weights))), ""
    if not scale:
        state = {name: torch.empty(shape, device="meta") for name, shape in weights.items()}
        try:
            scale = yolov8_scale(state) if arch == "yolov8-seg" else c3k2_scale(state)
        except ValueError:
            scale = "?"
    return arch, scale


def shape_text(sig: TensorSignature) -> str:
    return f"{sig.name} ({', '.join(str(d) for d in sig.dims)})"


def checked_signature(path: Path, onnx: OnnxFile, nc: int, end2end: bool) -> bool:
    """Whether the predictions are end-to-end rows; a ``ModelError`` when the graph's input or
    outputs are not those of a segmentation export with ``nc`` classes."""
    inputs, outputs = onnx.inputs, onnx.outputs
    if (
        len(inputs) != 1
        or len(inputs[0].dims) != 4
        or inputs[0].dims[1] != 3
        or inputs[0].elem_type not in ELEM_TYPES
    ):
        found = ", ".join(f"{shape_text(s)} of ONNX type {s.elem_type}" for s in inputs) or "none"
        raise ModelError(
            f"model file {path}: expected one float image input (batch, 3, height, width), found {found}"
        )
    if len(outputs) != 2 or len(outputs[0].dims) != 3 or len(outputs[1].dims) != 4:
        found = ", ".join(shape_text(s) for s in outputs) or "none"
        raise ModelError(
            f"model file {path}: expected a segmentation export's two outputs, predictions (batch, 4 + "
            f"classes + masks, anchors) and prototypes (batch, masks, h, w), found {found}"
        )
    preds, protos = outputs
    nm = protos.dims[1] if isinstance(protos.dims[1], int) else 32
    width, depth = preds.dims[1:]  # a dynamic export names some axes instead: checked when run
    rows = end2end and width != 4 + nc + nm and (depth == 6 + nm or isinstance(depth, str))
    if not rows and isinstance(width, int) and width != 4 + nc + nm:
        raise ModelError(
            f"model file {path}: its predictions are {shape_text(preds)}, which does not fit its metadata's "
            f"{nc} classes and {nm} masks: expected (batch, {4 + nc + nm}, anchors); {EXPECTED}"
        )
    return rows


def describe_onnx(path: Path, end2end: bool | None = None) -> OnnxGraph:
    """How to run the ONNX export at ``path``; ``end2end`` is ``engine.end2end`` (None: auto), which
    an export can only match: its head was fixed when it was written."""
    onnx = read_onnx(path)
    meta = export_metadata(path, checked_metadata(path, onnx.metadata, HOW), HOW)
    rows = checked_signature(path, onnx, len(meta.names), meta.end2end)
    arch, scale = family_of(meta.description, meta.head, onnx.weights, rows)
    check_head_mode(meta.end2end, end2end, arch, path, available=False)
    image = onnx.inputs[0]
    h, w = image.dims[2:]
    exporter = str(onnx.metadata.get("exporter", "")) or f"ultralytics {meta.version}".strip()
    info = ModelInfo(
        path=str(path),
        format="onnx",
        arch=arch,
        scale=scale,
        nc=len(meta.names),
        names=meta.names,
        params=sum(int(torch.Size(shape).numel()) for shape in onnx.weights.values()),
        imgsz=(h, w) if isinstance(h, int) and isinstance(w, int) else meta.imgsz,
        stride=meta.stride,
        fixed_imgsz=True,
        weights_dtype=onnx.weights_dtype,
        extra={"exporter": exporter},
        end2end=meta.end2end,
    )
    batch = image.dims[0] if isinstance(image.dims[0], int) and image.dims[0] > 0 else 0
    outputs = (onnx.outputs[0], onnx.outputs[1])
    return OnnxGraph(info, image, outputs, ELEM_TYPES[image.elem_type], batch, rows)
