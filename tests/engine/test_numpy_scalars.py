"""Training checkpoints (``last.pt``) carry numpy scalars; the restricted unpickler rebuilds those and
nothing else from numpy."""

from __future__ import annotations

import pickle
import struct
import zipfile
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.engine.loaders import load_model, read_content
from inspector.engine.unpickle import RestrictedUnpickler, archive_prefix, pickled_globals
from inspector.errors import UnsafeModelError
from tests.support.reference import as_batch, synthetic_image, yolo


def write_last_pt(source: Path, path: Path) -> None:
    """A checkpoint shaped like ultralytics' ``trainer.save_model()``: model None, weights in ``ema``,
    fp16 optimizer state, numpy scalars where older versions wrote them."""
    from ultralytics.utils.torch_utils import convert_optimizer_state_dict_to_fp16

    model = yolo(source).model.float()
    ema = deepcopy(model).half()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.937, nesterov=True)
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e-3)
    optimizer.step()  # momentum buffers: the optimizer state a last.pt carries
    for group in optimizer.param_groups:
        group["lr"] = np.float64(0.0093)  # warm-up writes np.interp results here
    torch.save(
        {
            "epoch": 3,
            "best_fitness": np.float64(0.4137),
            "model": None,
            "ema": ema,
            "updates": 120,
            "optimizer": convert_optimizer_state_dict_to_fp16(deepcopy(optimizer.state_dict())),
            "scaler": {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 0},
            "train_args": {"imgsz": 320, "task": "segment", "epochs": 10, "amp": True},
            "train_metrics": {
                "metrics/mAP50(M)": np.float64(0.38),
                "val/seg_loss": np.float32(1.25),
                "fitness": np.float64(0.4137),
            },
            "train_results": {"epoch": [1, 2, 3], "metrics/mAP50(M)": [0.1, 0.3, 0.38]},
            "date": "2024-03-01T10:00:00",
            "version": "8.1.0",
        },
        path,
    )


def test_last_pt_with_ema_optimizer_and_numpy_scalars_loads(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    path = tmp_path / "last.pt"
    write_last_pt(tiny_seg_checkpoint, path)
    with zipfile.ZipFile(path) as archive:
        used = pickled_globals(archive.read(f"{archive_prefix(archive)}/data.pkl"))
    assert {"_codecs.encode", "numpy.dtype"} <= used  # the numpy scalars really are in there
    assert used & {"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"}
    loaded = load_model(path)
    assert (loaded.info.format, loaded.info.scale, loaded.info.nc, loaded.info.imgsz) == (
        "ultralytics",
        "n",
        5,
        (320, 320),
    )
    assert loaded.info.extra["ultralytics_version"] == "8.1.0"
    content, _ = read_content(path)
    assert set(content.state_dict) == set(read_content(tiny_seg_checkpoint)[0].state_dict)
    x = as_batch([synthetic_image(160, 192, 5)])
    with torch.no_grad():  # the EMA weights, not the optimizer-stepped model's
        pred, proto = loaded.module(x)
        ref_pred, ref_proto = load_model(tiny_seg_checkpoint).module(x)
    assert torch.equal(pred, ref_pred) and torch.equal(proto, ref_proto)


def restricted_loads(data: bytes, tmp_path: Path) -> object:
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        return RestrictedUnpickler(data, archive, "archive").load()


@pytest.mark.parametrize(
    "value",
    [np.float64(0.4137), np.float32(-1.5), np.int64(-7), np.uint8(200), np.bool_(True), np.complex64(1 + 2j)],
)
def test_numeric_numpy_scalars_round_trip(tmp_path: Path, value: np.generic) -> None:
    out = restricted_loads(pickle.dumps({"v": value}, protocol=2), tmp_path)
    assert isinstance(out, dict) and type(out["v"]) is type(value) and out["v"] == value


# Hand-written protocol-2 pickles that misuse the allowed numpy and codec globals.
DTYPE_O = b"cnumpy\ndtype\nX\x01\x00\x00\x00O\x89\x88\x87R"
DTYPE_F8 = b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R"
SCALAR = b"cnumpy._core.multiarray\nscalar\n"
ENCODE = b"c_codecs\nencode\n"


def test_big_endian_scalar_keeps_its_value(tmp_path: Path) -> None:
    big_endian_state = b"(K\x03X\x01\x00\x00\x00>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    data = b"\x80\x02" + SCALAR + DTYPE_F8 + big_endian_state + b"C\x08" + struct.pack(">d", 3.25) + b"\x86R."
    assert restricted_loads(data, tmp_path) == 3.25


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (DTYPE_O + b".", "not a plain numeric type"),
        (b"cnumpy\ndtype\nX\x02\x00\x00\x00U8\x89\x88\x87R.", "not a plain numeric type"),
        (b"cnumpy\ndtype\nX\x02\x00\x00\x00M8\x89\x88\x87R.", "not a plain numeric type"),
        (b"cnumpy\ndtype\nX\x0b\x00\x00\x00os.system()\x89\x88\x87R.", "not a plain numeric type"),
        # a structured dtype smuggled in through the BUILD state
        (
            DTYPE_F8 + b"(K\x03X\x01\x00\x00\x00<NX\x01\x00\x00\x00a\x85NJ\xff\xff\xff\xffK\x00K\x00tb.",
            "structured",
        ),
        (ENCODE + b"X\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R.", "only allowed as"),
        (ENCODE + b"K\x01X\x06\x00\x00\x00latin1\x86R.", "only allowed as"),
        (SCALAR + b"K\x01X\x01\x00\x00\x00a\x86R.", "not a numeric dtype"),
        (SCALAR + DTYPE_F8 + b"C\x03abc\x86R.", "without its 8 data bytes"),
    ],
)
def test_misused_numpy_and_codec_globals_are_refused(tmp_path: Path, body: bytes, why: str) -> None:
    with pytest.raises(pickle.UnpicklingError, match=why):
        restricted_loads(b"\x80\x02" + body, tmp_path)


def test_numpy_arrays_are_refused_with_a_numpy_message(tmp_path: Path) -> None:
    data = pickle.dumps({"anchors": np.zeros(3)}, protocol=2)
    with pytest.raises(UnsafeModelError, match=r"numpy object \('numpy\._?core\.multiarray\._reconstruct'\)"):
        restricted_loads(data, tmp_path)
