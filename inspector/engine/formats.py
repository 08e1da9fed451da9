"""What kind of model file a path is, read from its first bytes (never from its name).

``torch``: a zip archive (ultralytics ``best.pt``, inspector's own format, TorchScript);
``onnx``: an ONNX protobuf; ``openvino``: an OpenVINO IR (``.xml``, or the folder ultralytics
writes with the ``.xml``, ``.bin`` and ``metadata.yaml``); ``tensorrt``: a TensorRT engine with
ultralytics' or inspector's JSON metadata header. Anything else goes to the torch loader, which
names what is wrong with a damaged checkpoint. The loader of each kind checks the rest.
"""

from __future__ import annotations

import enum
import zipfile
from pathlib import Path

from inspector.errors import ModelError


class FileKind(enum.Enum):
    TORCH = "torch"
    ONNX = "onnx"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"

    @property
    def described(self) -> str:
        return {
            "torch": "a PyTorch checkpoint",
            "onnx": "an ONNX model",
            "openvino": "an OpenVINO IR",
            "tensorrt": "a TensorRT engine",
        }[self.value]


def ir_in(folder: Path) -> Path:
    """The one OpenVINO ``.xml`` in an export folder."""
    xmls = sorted(folder.glob("*.xml"))
    if len(xmls) != 1:
        found = ", ".join(p.name for p in xmls) or "none"
        raise ModelError(
            f"model file {folder}: a folder, expected one OpenVINO model (.xml) in it, found {found}"
        )
    return xmls[0]


def sniff(path: Path) -> FileKind:
    """The kind of model file at ``path``; ``ModelError`` naming the file when it is none of them."""
    if not path.exists():
        raise ModelError(f"model file {path} does not exist")
    if path.is_dir():
        ir_in(path)
        return FileKind.OPENVINO
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({exc.strerror or exc})") from None
    if zipfile.is_zipfile(path):
        return FileKind.TORCH
    text = head.lstrip()
    if text.startswith(b"<?xml") or text.startswith(b"<net"):
        return FileKind.OPENVINO
    if len(head) > 4 and head[4:5] == b"{" and 0 < int.from_bytes(head[:4], "little") < 1 << 24:
        return FileKind.TENSORRT  # 4-byte length + JSON metadata, then the serialized engine
    if head[:1] == b"\x08":  # ModelProto field 1 (ir_version, varint) comes first
        return FileKind.ONNX
    return FileKind.TORCH  # its loader names what is wrong with a damaged checkpoint
