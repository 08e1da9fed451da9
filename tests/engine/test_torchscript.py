"""TorchScript files exported by ultralytics: metadata from config.txt, fixed input size, same answers."""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import pytest

from inspector.engine import EngineConfig, load_engine
from inspector.engine.loaders import load_model, read_content
from inspector.errors import ModelError
from tests.support.reference import assert_same_detections, synthetic_image, yolo


@pytest.fixture(scope="module")
def exported(torchscript_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the loader reads the content, not the extension
    return Path(shutil.copy(torchscript_export, tmp_path_factory.mktemp("ts") / "model.bin"))


def test_torchscript_metadata(exported: Path) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        info = load_model(exported).info
    assert not [w for w in seen if "torch.jit.load" in str(w.message)]  # torch's notice is not the user's
    assert info.format == "torchscript" and info.fixed_imgsz
    assert info.imgsz == (256, 256) and info.stride == 32 and info.nc == 5 and info.scale == "n"
    assert info.names[4] == "missing_joint"


def test_torchscript_detections_match_reference(exported: Path, tiny_seg_checkpoint: Path) -> None:
    engine = load_engine(EngineConfig(model=exported, device="cpu", conf=0.4, imgsz=640))
    assert engine.imgsz == (256, 256)  # the export's fixed size wins over the configured one
    reference = yolo(tiny_seg_checkpoint)
    images = [synthetic_image(h, w, seed=h * w) for h, w in [(240, 320), (300, 200), (257, 413)]]
    for det, image in zip(engine.infer(images), images, strict=True):
        (ref,) = reference.predict(image, conf=0.4, imgsz=256, rect=False, retina_masks=True, verbose=False)
        assert_same_detections(det, ref, image)


def test_torchscript_without_metadata_or_weights_is_refused(exported: Path, tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.torchscript"
    with zipfile.ZipFile(exported) as src, zipfile.ZipFile(stripped, "w") as dst:
        for item in src.infolist():
            if not item.filename.endswith("extra/config.txt"):
                dst.writestr(item, src.read(item))
    with pytest.raises(ModelError, match="without ultralytics metadata"):
        load_model(stripped)
    with pytest.raises(ModelError, match="TorchScript export"):
        read_content(exported)  # nothing to convert: a graph, not a checkpoint
