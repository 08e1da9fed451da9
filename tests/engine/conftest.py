"""Fixtures of the engine tests: TorchScript exports of the tiny checkpoint and of YOLO11/26."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.support.reference import yolo


@pytest.fixture(scope="session")
def torchscript_export(tiny_seg_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny_seg_checkpoint`` exported by ultralytics (``format=torchscript``, imgsz 256)."""
    source = shutil.copy(tiny_seg_checkpoint, tmp_path_factory.mktemp("ts") / "best.pt")
    with warnings.catch_warnings():  # ultralytics' exporter uses torch.jit.trace, deprecated in torch
        warnings.simplefilter("ignore", FutureWarning)
        return Path(yolo(source).export(format="torchscript", imgsz=256, verbose=False))


@pytest.fixture(scope="session")
def family_export(
    family_checkpoint: Callable[[str, bool], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, bool | None], Path]:
    """``family_export("yolo11" | "yolo26", nms)``: ``family_checkpoint(family)`` exported by
    ultralytics (``format=torchscript``, imgsz 256, ``nms`` as given: None is the default
    one-to-many export, False YOLO26's end-to-end one), made once per session."""
    made: dict[tuple[str, bool | None], Path] = {}

    def export(family: str, nms: bool | None = None) -> Path:
        if (family, nms) not in made:
            folder = tmp_path_factory.mktemp(f"ts-{family}")
            source = shutil.copy(family_checkpoint(family, False), folder / "best.pt")
            options = {} if nms is None else {"nms": nms}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the exporter's trace notes
                made[family, nms] = Path(
                    yolo(source).export(format="torchscript", imgsz=256, verbose=False, **options)
                )
        return made[family, nms]

    return export
