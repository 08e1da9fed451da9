"""``engine.backend``: the file's kind decides what can run it; ``auto`` picks and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inspector.engine.backends.extras import require
from inspector.engine.backends.registry import choose_backend
from inspector.engine.config import EngineConfig
from inspector.engine.formats import FileKind, sniff
from inspector.errors import ModelError

CPU = torch.device("cpu")


def test_a_checkpoint_runs_on_torch(tiny_seg_checkpoint: Path) -> None:
    assert sniff(tiny_seg_checkpoint) is FileKind.TORCH
    choice = choose_backend(tiny_seg_checkpoint, EngineConfig(model=tiny_seg_checkpoint), CPU)
    assert choice.name == "torch" and "auto" in choice.reason


def test_a_backend_that_cannot_run_the_file_is_named(tiny_seg_checkpoint: Path) -> None:
    config = EngineConfig(model=tiny_seg_checkpoint, backend="openvino")
    with pytest.raises(ModelError, match=r"cannot run .*a PyTorch checkpoint, which runs on torch"):
        choose_backend(tiny_seg_checkpoint, config, CPU)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b'<?xml version="1.0"?>\n<net name="x">', FileKind.OPENVINO),
        (len(b'{"a": 1}').to_bytes(4, "little") + b'{"a": 1}' + b"\0" * 8, FileKind.TENSORRT),
        (b"\x08\x08\x12\x07pytorch", FileKind.ONNX),
    ],
)
def test_exports_are_told_apart_by_content(tmp_path: Path, head: bytes, kind: FileKind) -> None:
    path = tmp_path / "model.bin"  # the name says nothing
    path.write_bytes(head)
    assert sniff(path) is kind


def test_an_export_folder_must_hold_one_ir(tmp_path: Path) -> None:
    with pytest.raises(
        ModelError, match=r"a folder, expected one OpenVINO model \(\.xml\) in it, found none"
    ):
        sniff(tmp_path)
    (tmp_path / "best.xml").write_text("<net/>")
    assert sniff(tmp_path) is FileKind.OPENVINO


def test_a_missing_extra_is_named() -> None:
    with pytest.raises(ModelError, match=r"pip install 'inspector\[tensorrt\]'"):
        require("tensorrt.not_a_module", "tensorrt")
