"""TorchScript files exported by ultralytics: metadata from config.txt, fixed input size, same answers."""

from __future__ import annotations

import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from inspector.engine import EngineConfig, load_engine
from inspector.engine.loaders import load_model, read_content
from inspector.errors import ConfigError, ModelError
from tests.engine.test_families_engine import in_reference_order
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


# (family, export's nms, arch, end-to-end rows, conf): conf 0.1 for the one-to-one head, whose
# scores on these images are lower (as in test_families_engine).
FAMILY_EXPORTS = [
    ("yolo11", None, "yolo11-seg", False, 0.25),
    ("yolo26", None, "yolo26-seg", False, 0.25),  # default export: one-to-many head, NMS
    ("yolo26", False, "yolo26-seg", True, 0.1),  # nms=False: 300 ready rows, conf/class filter only
]


@pytest.mark.parametrize(
    ("family", "nms", "arch", "end2end", "conf"), FAMILY_EXPORTS, ids=["yolo11", "yolo26", "yolo26-end2end"]
)
def test_family_export_matches_ultralytics_predict(
    family_export: Callable[[str, bool | None], Path],
    family: str,
    nms: bool | None,
    arch: str,
    end2end: bool,
    conf: float,
) -> None:
    path = family_export(family, nms)
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=conf))
    info = engine.info
    assert (info.arch, info.scale, info.nc, info.end2end, info.imgsz) == (arch, "n", 5, end2end, (256, 256))
    reference = yolo(path)  # ultralytics predict on the same export
    total = 0
    for h, w in [(240, 320), (300, 200), (257, 413), (120, 400)]:
        image = synthetic_image(h, w, seed=h * w)
        (ours,) = engine.infer([image])
        (ref,) = reference.predict(image, conf=conf, imgsz=256, rect=False, retina_masks=True, verbose=False)
        assert_same_detections(in_reference_order(ours, ref), ref, image)
        total += len(ours)
    assert total >= 10  # the comparison is not vacuous


def test_end2end_export_filters_classes_and_max_det(
    family_export: Callable[[str, bool | None], Path],
) -> None:
    path = family_export("yolo26", False)
    engine = load_engine(EngineConfig(model=path, device="cpu", conf=0.05, classes=[1, 3], max_det=7))
    reference = yolo(path)
    image = synthetic_image(257, 413, seed=7)
    (ours,) = engine.infer([image])
    (ref,) = reference.predict(
        image, conf=0.05, classes=[1, 3], max_det=7, imgsz=256, rect=False, retina_masks=True, verbose=False
    )
    assert 0 < len(ours) <= 7 and set(ours.class_ids.tolist()) <= {1, 3}
    assert_same_detections(in_reference_order(ours, ref), ref, image)


def test_end2end_export_refuses_one_to_many_head(family_export: Callable[[str, bool | None], Path]) -> None:
    with pytest.raises(ConfigError, match=r"engine\.end2end"):
        load_engine(EngineConfig(model=family_export("yolo26", False), device="cpu", end2end=False))
