"""What an exported file of a non-YOLO architecture says about itself, read without a runtime:
the ONNX ``metadata_props`` and signature (the protobuf reader the ONNX backend uses), or an
OpenVINO IR's ``rt_info`` section ``framework`` (where OpenVINO keeps an ONNX file's metadata).
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.engine.backends.onnx_file import TensorSignature, read_onnx
from inspector.engine.formats import FileKind, ir_in, sniff
from inspector.errors import ModelError

METADATA_SECTION = "framework"


@dataclass(frozen=True)
class ArchFile:
    """A model file as the arch registry sees it."""

    path: Path  # the .onnx or the IR's .xml
    kind: FileKind
    metadata: dict[str, Any]  # literal values parsed ("names" a dict, "imgsz" a list)
    inputs: tuple[TensorSignature, ...]  # ONNX only (an IR's signature is read when compiled)
    outputs: tuple[TensorSignature, ...]
    weights: dict[str, tuple[int, ...]]  # ONNX initializer shapes (empty for an IR)

    @property
    def arch(self) -> str:
        return str(self.metadata.get("arch", ""))

    def names(self) -> tuple[str, ...]:
        """Class names in id order from the metadata (a dict {id: name} or a list)."""
        raw = self.metadata.get("names")
        if isinstance(raw, dict):
            return tuple(str(raw[k]) for k in sorted(raw))
        if isinstance(raw, (list, tuple)):
            return tuple(str(v) for v in raw)
        return ()

    def imgsz(self, default: tuple[int, int]) -> tuple[int, int]:
        raw = self.metadata.get("imgsz")
        if isinstance(raw, (list, tuple)) and len(raw) == 2 and all(isinstance(v, int) for v in raw):
            return int(raw[0]), int(raw[1])
        return default


def literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def ir_metadata(xml: Path) -> dict[str, Any]:
    """The IR's ``rt_info/framework`` entries ({} when it has none)."""
    try:
        root = ET.parse(xml).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ModelError(f"model file {xml}: not a readable OpenVINO IR ({exc})") from None
    section = root.find(f"rt_info/{METADATA_SECTION}")
    if section is None:
        return {}
    return {child.tag: literal(child.get("value", "")) for child in section}


def read_arch_file(path: Path) -> ArchFile | None:
    """The file's metadata and signature; None for a kind no arch comes in (a torch checkpoint,
    a TensorRT engine)."""
    kind = sniff(path)
    if kind is FileKind.ONNX:
        onnx = read_onnx(path)
        meta = {
            key: literal(value) if isinstance(value, str) else value for key, value in onnx.metadata.items()
        }
        return ArchFile(path, kind, meta, onnx.inputs, onnx.outputs, onnx.weights)
    if kind is FileKind.OPENVINO:
        xml = ir_in(path) if path.is_dir() else path
        return ArchFile(xml, kind, ir_metadata(xml), (), (), {})
    return None
