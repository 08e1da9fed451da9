"""Model files recognised by content; unsafe, truncated and foreign files refused with a clear error."""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.engine.loaders import load_model, read_content, save_own
from inspector.engine.unpickle import pickled_globals
from inspector.errors import ModelError, UnsafeModelError
from tests.support.reference import as_batch, synthetic_image, yolo


class Payload:
    """Pickles as a call to ``func(*args)``: what a malicious checkpoint would run on load."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def payloads(marker: Path) -> dict[str, Payload]:
    return {
        "os.system": Payload(os.system, f"touch {marker}"),
        "eval": Payload(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "subprocess": Payload(subprocess.Popen, ["touch", str(marker)]),
        "exec": Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
    }


@pytest.mark.parametrize("kind", ["os.system", "eval", "subprocess", "exec"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "best.pt"
    torch.save({"model": payloads(marker)[kind], "weights": torch.zeros(3)}, path)
    with pytest.raises(UnsafeModelError, match=str(path)):
        load_model(path)
    assert not marker.exists()


# The global each payload pickles as: the restricted unpickler names it when it refuses.
PAYLOAD_GLOBALS = {
    "os.system": r"(posix|os)\.system",
    "eval": r"builtins\.eval",
    "subprocess": r"subprocess\.Popen",
    "exec": r"builtins\.exec",
}


@pytest.mark.parametrize("kind", PAYLOAD_GLOBALS)
def test_payload_inside_a_real_ultralytics_checkpoint_is_refused(
    tmp_path: Path, tiny_seg_checkpoint: Path, kind: str
) -> None:
    marker = tmp_path / "marker"
    net = yolo(tiny_seg_checkpoint).model
    path = tmp_path / "best.pt"
    torch.save({"model": net, "train_args": payloads(marker)[kind]}, path)
    with pytest.raises(UnsafeModelError, match=rf"best\.pt: it references '{PAYLOAD_GLOBALS[kind]}'"):
        load_model(path)
    assert not marker.exists()


def test_tampered_archive_with_replaced_pickle_is_refused(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    # No ultralytics global left: torch's weights_only loader is the one that refuses it.
    marker = tmp_path / "marker"
    evil = pickle.dumps({"model": payloads(marker)["eval"]}, protocol=2)
    path = tampered(tiny_seg_checkpoint, tmp_path / "tampered.pt", evil)
    with pytest.raises(UnsafeModelError, match="asks to run code"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("kind", PAYLOAD_GLOBALS)
def test_tampered_archive_that_still_looks_like_ultralytics_is_refused(
    tmp_path: Path, tiny_seg_checkpoint: Path, kind: str
) -> None:
    from ultralytics.nn.tasks import SegmentationModel

    marker = tmp_path / "marker"
    # An ultralytics class reference keeps the file on the restricted unpickler's path.
    evil = pickle.dumps({"model": SegmentationModel, "train_args": payloads(marker)[kind]}, protocol=2)
    assert "ultralytics.nn.tasks.SegmentationModel" in pickled_globals(evil)
    path = tampered(tiny_seg_checkpoint, tmp_path / "tampered.pt", evil)
    with pytest.raises(UnsafeModelError, match=rf"it references '{PAYLOAD_GLOBALS[kind]}'"):
        load_model(path)
    assert not marker.exists()


def tampered(source: Path, path: Path, data_pkl: bytes) -> Path:
    """A copy of a checkpoint archive with its ``data.pkl`` replaced (storages kept, CRCs valid)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, data_pkl if item.filename.endswith("/data.pkl") else src.read(item))
    return path


def test_truncated_checkpoint_names_the_file(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    data = tiny_seg_checkpoint.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"truncated\.pt.*(truncated|corrupted)"):
        load_model(path)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("empty.pt", b"", "empty"),
        ("notes.pt", b"hello, this is not a model\n", "not a torch zip archive"),
        ("image.pt", b"\x89PNG\r\n\x1a\n" + bytes(100), "not a torch zip archive"),
        ("bare.pkl", pickle.dumps({"a": 1}), "not a torch zip archive"),
    ],
)
def test_non_model_files_get_one_clear_error(tmp_path: Path, name: str, content: bytes, why: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ModelError, match=why) as err:
        load_model(path)
    assert str(path) in str(err.value) and "expected" in str(err.value)


def test_other_zip_and_torch_files_are_not_models(tmp_path: Path) -> None:
    other_zip = tmp_path / "data.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ModelError, match=r"data\.zip"):
        load_model(other_zip)
    weights = tmp_path / "weights.pt"
    torch.save({"conv.weight": torch.zeros(2, 2)}, weights)
    with pytest.raises(ModelError, match="holds no segmentation model"):
        load_model(weights)
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_detection_model_is_refused(tmp_path: Path) -> None:
    model = yolo("yolov8n-seg.yaml")
    from ultralytics.nn.tasks import DetectionModel

    model.model = DetectionModel("yolov8n.yaml", nc=3, verbose=False)
    path = tmp_path / "detect.pt"
    model.save(str(path))
    with pytest.raises(ModelError, match="a YOLOv8 detection model: inspector needs a segmentation model"):
        load_model(path)


def test_own_format_round_trip_loads_with_weights_only(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    content, fmt = read_content(tiny_seg_checkpoint)
    assert fmt == "ultralytics"
    own = tmp_path / "model.inspector"  # the extension means nothing: format is read from the content
    save_own(content, own, source=tiny_seg_checkpoint.name)
    data = torch.load(own, weights_only=True)
    assert data["format"] == "inspector.yolov8-seg"
    a, b = load_model(tiny_seg_checkpoint), load_model(own)
    assert b.info.format == "inspector" and a.info.format == "ultralytics"
    assert (a.info.names, a.info.nc, a.info.scale, a.info.params) == (b.info.names, 5, "n", b.info.params)
    x = as_batch([synthetic_image(160, 192, 3)])
    with torch.no_grad():
        pa, qa = a.module(x)
        pb, qb = b.module(x)
    assert torch.equal(pa, pb) and torch.equal(qa, qb)


def test_fp32_checkpoint_loads(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    model = yolo(tiny_seg_checkpoint)
    path = tmp_path / "fp32.pt"
    torch.save({"model": model.model.float(), "train_args": {"imgsz": 320}}, path)
    info = load_model(path).info
    assert info.weights_dtype == "float32" and info.imgsz == (320, 320)


def test_garbled_pickle_inside_a_checkpoint_is_a_clear_error(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    path = tmp_path / "garbled.pt"
    with zipfile.ZipFile(tiny_seg_checkpoint) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("/data.pkl"):
                data = data[: len(data) // 2] + b"\x00" * 64  # a cut pickle with a valid zip CRC
            dst.writestr(item, data)
    with pytest.raises(ModelError, match=r"garbled\.pt"):
        load_model(path)


def test_fused_checkpoint_loads_and_matches_reference(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    # model.save() after fuse() keeps layers folded, and pickles bound methods through getattr.
    model = yolo(tiny_seg_checkpoint)
    model.model.fuse(verbose=False)
    path = tmp_path / "fused.pt"
    model.save(str(path))
    loaded = load_model(path)
    reference = yolo(path).model.float().eval()
    x = as_batch([synthetic_image(160, 192, 3)])
    with torch.no_grad():
        (ref_pred, ref_proto), _ = reference(x)
        pred, proto = loaded.module(x)
    torch.testing.assert_close(pred, ref_pred, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(proto, ref_proto, rtol=1e-4, atol=1e-4)


def test_zip_bomb_entry_is_refused_before_it_is_unpacked(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(tiny_seg_checkpoint) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("archive/data/bomb", bytes(64 * 1024**2), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelError, match=r"bomb\.pt: entry archive/data/bomb expands \d+x"):
        load_model(path)


def test_archive_declaring_an_absurd_unpacked_size_is_refused(
    tmp_path: Path, tiny_seg_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspector.engine.archive as archive

    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 1024**2)  # stands in for 4 GiB of real weights
    with pytest.raises(ModelError, match=r"would unpack to [\d.]+ MiB \(limit 1\.0 MiB\)") as err:
        load_model(tiny_seg_checkpoint)
    assert str(tiny_seg_checkpoint) in str(err.value)
