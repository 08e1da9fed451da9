"""Fixtures of the engine tests: one TorchScript export of the tiny checkpoint."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from tests.support.reference import yolo


@pytest.fixture(scope="session")
def torchscript_export(tiny_seg_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny_seg_checkpoint`` exported by ultralytics (``format=torchscript``, imgsz 256)."""
    source = shutil.copy(tiny_seg_checkpoint, tmp_path_factory.mktemp("ts") / "best.pt")
    with warnings.catch_warnings():  # ultralytics' exporter uses torch.jit.trace, deprecated in torch
        warnings.simplefilter("ignore", FutureWarning)
        return Path(yolo(source).export(format="torchscript", imgsz=256, verbose=False))
