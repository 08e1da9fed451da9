"""Class names read from model files without torch, as ``inspector check`` does: the same names
the loader finds, for every format; nothing in the file runs."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from inspector.engine.loaders import load_model, read_content, save_own
from inspector.engine.metadata import DEMO_MODEL, model_names
from tests.support.reference import build_checkpoint, yolo

NAMES = ("scratch", "dent", "good")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("meta") / "best.pt", nc=3, names=NAMES, imgsz=128)


def test_ultralytics_and_inspector_formats(checkpoint: Path, tmp_path: Path) -> None:
    own = tmp_path / "own.pt"
    save_own(read_content(checkpoint)[0], own, source=str(checkpoint))
    for path in (checkpoint, own, DEMO_MODEL):
        assert model_names(path) == load_model(path).info.names
    assert model_names(checkpoint) == NAMES


def test_torchscript_export(checkpoint: Path, tmp_path: Path) -> None:
    source = shutil.copy(checkpoint, tmp_path / "best.pt")
    exported = Path(yolo(source).export(format="torchscript", imgsz=128, verbose=False))
    assert model_names(exported) == NAMES == load_model(exported).info.names


def test_reading_names_imports_no_torch(checkpoint: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from inspector.engine.metadata import model_names; "
        f"assert model_names(Path({str(checkpoint)!r})) == {NAMES!r}; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_asks_to_run_code_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"model": RunsCode(marker), "names": None}))
    assert model_names(path) is None and not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_unreadable_files_give_no_names(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    assert model_names(path) is None
    assert model_names(tmp_path / "absent.pt") is None
