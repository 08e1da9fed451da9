"""Damaged model files, for each format the loader reads: one line naming the file and what was
expected (a ``ModelError``), exit 2 from ``model info``, ``segment`` and ``run``; no traceback."""

from __future__ import annotations

import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.cli import main
from inspector.engine.archive import EXPECTED
from inspector.engine.loaders import load_model, read_content, save_own
from inspector.errors import InspectorError, ModelError

Damage = Callable[[Path, Path], None]  # (intact file, file to write)


@pytest.fixture(scope="module")
def model_files(
    tiny_seg_checkpoint: Path, torchscript_export: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """One intact file per format: ultralytics checkpoint, inspector format, TorchScript export."""
    folder = tmp_path_factory.mktemp("formats")
    own = folder / "model.inspector"
    content, _ = read_content(tiny_seg_checkpoint)
    save_own(content, own, source="tiny")
    return {"ultralytics": tiny_seg_checkpoint, "inspector": own, "torchscript": torchscript_export}


def write(data: bytes) -> Damage:
    return lambda src, dst: dst.write_bytes(data)


def truncated(percent: int) -> Damage:
    return lambda src, dst: dst.write_bytes(src.read_bytes()[: src.stat().st_size * percent // 100])


def flipped(src: Path, dst: Path) -> None:
    """64 bytes inverted in the middle: the archive's CRC check catches it."""
    data = bytearray(src.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    dst.write_bytes(bytes(data))


def rezipped(rename: Callable[[str], str | None], compression: int = zipfile.ZIP_STORED) -> Damage:
    """A valid zip of the file's members, renamed (or dropped where ``rename`` gives None)."""

    def damage(src: Path, dst: Path) -> None:
        with zipfile.ZipFile(src) as original, zipfile.ZipFile(dst, "w", compression) as copy:
            for item in original.infolist():
                name = rename(item.filename)
                if name is not None:
                    copy.writestr(name, original.read(item))

    return damage


def deflated_and_corrupted(src: Path, dst: Path) -> None:
    """Entries deflated (torch stores them plain), then bytes of data.pkl's stream inverted."""
    rezipped(lambda n: n, zipfile.ZIP_DEFLATED)(src, dst)
    data = bytearray(dst.read_bytes())
    with zipfile.ZipFile(dst) as archive:
        entry = next(i for i in archive.infolist() if i.filename.endswith("data.pkl"))
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra) + 5
    data[start : start + 32] = bytes(b ^ 0x55 for b in data[start : start + 32])
    dst.write_bytes(bytes(data))


def flagged_encrypted(src: Path, dst: Path) -> None:
    """Every entry's 'encrypted' flag set, in the local and the central headers."""
    data = bytearray(src.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data[at + flag_offset] |= 1
            at = data.find(signature, at + 4)
    dst.write_bytes(bytes(data))


DAMAGE: dict[str, tuple[Damage, str]] = {
    "empty": (write(b""), "the file is empty"),
    "truncated-10": (truncated(10), "truncated or corrupted"),
    "truncated-50": (truncated(50), "truncated or corrupted"),
    "truncated-99": (truncated(99), "truncated or corrupted"),
    "random-bytes": (write(random.Random(1).randbytes(4096)), "not a torch zip archive"),
    "garbage-zip": (write(b"PK\x03\x04" + random.Random(2).randbytes(4096)), "truncated or corrupted"),
    "flipped-bytes": (flipped, "corrupted (bad CRC"),
    "text": (write(b"this is not a model\n"), "not a torch zip archive"),
    "wrong-member-names": (rezipped(lambda n: n.replace("data.pkl", "weights.pkl")), "data.pkl"),
    "members-at-top": (rezipped(lambda n: n.split("/", 1)[1]), ""),
    "storage-missing": (rezipped(lambda n: None if n.endswith("/data/0") else n), "data/0"),
    "deflated-and-corrupted": (deflated_and_corrupted, "truncated or corrupted"),
    "flagged-encrypted": (flagged_encrypted, "the archive is encrypted"),
}
FORMATS = ["ultralytics", "inspector", "torchscript"]
CASES = [pytest.param(fmt, name, id=f"{fmt}-{name}") for fmt in FORMATS for name in DAMAGE]


def damaged(model_files: dict[str, Path], tmp_path: Path, fmt: str, name: str) -> tuple[Path, str]:
    damage, needle = DAMAGE[name]
    path = tmp_path / f"{fmt}-{name}.pt"
    damage(model_files[fmt], path)
    return path, needle


def assert_one_line_error(command: str, code: int, err: str, path: Path, needle: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"inspector {command}: error: model file {path}"), err
    assert needle in err, err


@pytest.mark.parametrize(("fmt", "name"), CASES)
def test_damaged_model_file(
    model_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    path, needle = damaged(model_files, tmp_path, fmt, name)
    with pytest.raises(ModelError) as error:
        load_model(path)
    assert isinstance(error.value, InspectorError) and error.value.exit_code == 2
    # what was expected: any of the formats, or (a TorchScript archive) an ultralytics export
    assert EXPECTED in str(error.value) or "expected an ultralytics TorchScript export" in str(error.value)
    image = tmp_path / "board.png"
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    for command, argv in (
        ("model", ["model", "info", str(path)]),
        ("segment", ["segment", str(image), "--model", str(path), "--device", "cpu"]),
    ):
        code = main(argv)
        assert_one_line_error(command, code, capsys.readouterr().err, path, needle)


TORCHSCRIPT_METADATA = [
    pytest.param(b"{not json", "its config.txt is not valid JSON", id="not-json"),
    pytest.param(b"[1, 2]", "without ultralytics metadata", id="a-list"),
    pytest.param(b'{"names": {"a": "x"}}', "its export metadata is malformed", id="class-id-not-a-number"),
    pytest.param(b'{"names": {"0": "x"}, "imgsz": "big"}', "metadata is malformed", id="imgsz-text"),
    pytest.param(b'{"names": {"0": "x"}, "stride": [1]}', "metadata is malformed", id="stride-list"),
    pytest.param(
        b'{"task": "detect", "names": {"0": "x"}}',
        "a YOLO detection model: inspector needs a segmentation model",
        id="detect-task",
    ),
]


@pytest.mark.parametrize(("config_txt", "needle"), TORCHSCRIPT_METADATA)
def test_torchscript_with_bad_metadata(
    model_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    config_txt: bytes,
    needle: str,
) -> None:
    path = tmp_path / "export.torchscript"
    with zipfile.ZipFile(model_files["torchscript"]) as original, zipfile.ZipFile(path, "w") as copy:
        for item in original.infolist():
            data = config_txt if item.filename.endswith("extra/config.txt") else original.read(item)
            copy.writestr(item.filename, data)
    code = main(["model", "info", str(path)])
    assert_one_line_error("model", code, capsys.readouterr().err, path, needle)


@pytest.mark.parametrize(
    ("torchscript_member", "needle"),
    [
        pytest.param("/code/", "TorchScript archive cannot be loaded", id="code-missing"),
        pytest.param("constants.pkl", "constants.pkl: file not found)", id="constants-missing"),
    ],
)
def test_torchscript_with_members_missing(
    model_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    torchscript_member: str,
    needle: str,
) -> None:
    path = tmp_path / "export.torchscript"
    rezipped(lambda n: None if torchscript_member in n else n)(model_files["torchscript"], path)
    code = main(["model", "info", str(path)])
    err = capsys.readouterr().err
    assert_one_line_error("model", code, err, path, needle)
    assert "miniz" not in err  # torch's advice to its developers is not the operator's


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_extension_right_content_loads(model_files: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "model.txt"  # the loader reads the content, never the extension
    shutil.copy(model_files[fmt], path)
    assert load_model(path).info.format == fmt


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        pytest.param(lambda tmp: tmp, "a folder, expected one OpenVINO model", id="directory"),
        pytest.param(lambda tmp: tmp / "absent.pt", "does not exist", id="missing"),
    ],
)
def test_model_path_that_is_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], Path], needle: str
) -> None:
    path = make(tmp_path)
    code = main(["model", "info", str(path)])
    assert_one_line_error("model", code, capsys.readouterr().err, path, needle)


def line_config(tmp_path: Path, model: Path) -> Path:
    config = tmp_path / "line.yaml"
    config.write_text(
        f"sources:\n  - {{kind: synthetic, id: cam0, count: 1}}\nengine: {{model: '{model}', device: cpu}}\n"
        "runtime: {max_frames: 1}\n"  # should the model load after all, the line still ends
    )
    return config


@pytest.mark.parametrize("name", ["empty", "truncated-50", "random-bytes", "wrong-member-names"])
def test_run_refuses_a_damaged_model(
    model_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path, needle = damaged(model_files, tmp_path, "ultralytics", name)
    code = main(["run", "--config", str(line_config(tmp_path, path))])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and f"model file {path}" in err and needle in err


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        pytest.param(lambda tmp: tmp, "is not a file", id="directory"),
        pytest.param(lambda tmp: tmp / "absent.pt", "does not exist", id="missing"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_check_and_run_refuse_a_model_path_that_is_not_a_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    needle: str,
    command: str,
) -> None:
    path = make(tmp_path)
    code = main([command, "--config", str(line_config(tmp_path, path))])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "engine.model:" in err and needle in err


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        pytest.param(lambda tmp: tmp / "absent" / "line3.pt", "folder", id="missing-folder"),
        pytest.param(lambda tmp: tmp, "is a directory", id="a-directory"),
        pytest.param(lambda tmp: Path("/proc/line3.pt"), "cannot write /proc/line3.pt", id="unwritable"),
    ],
)
def test_convert_to_a_destination_that_cannot_be_written(
    model_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    needle: str,
) -> None:
    code = main(["model", "convert", str(model_files["ultralytics"]), str(make(tmp_path))])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err


@pytest.mark.parametrize(
    "name",
    ["empty", "truncated-50", "random-bytes", "flipped-bytes", "deflated-and-corrupted", "flagged-encrypted"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_check_refuses_a_damaged_model(
    model_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    """check reads no weights, but refuses what the archive check at load would refuse."""
    path, needle = damaged(model_files, tmp_path, fmt, name)
    code = main(["check", "--config", str(line_config(tmp_path, path))])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert f"engine.model: model file {path}: " in err and needle in err


@pytest.mark.parametrize("config_txt", [b"[1, 2]", b"[" * 100_000], ids=["a-list", "nested-too-deep"])
def test_check_leaves_unreadable_torchscript_names_to_the_loader(
    model_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], config_txt: bytes
) -> None:
    path = tmp_path / "export.torchscript"
    with zipfile.ZipFile(model_files["torchscript"]) as original, zipfile.ZipFile(path, "w") as copy:
        for item in original.infolist():
            copy.writestr(
                item.filename, config_txt if item.filename.endswith("config.txt") else original.read(item)
            )
    assert main(["check", "--config", str(line_config(tmp_path, path))]) == 0
    assert "checked when it loads" in capsys.readouterr().out
    code = main(["model", "info", str(path)])
    assert_one_line_error("model", code, capsys.readouterr().err, path, "config.txt")
