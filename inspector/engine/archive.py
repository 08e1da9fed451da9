"""The zip archive under every model file, opened and checked without torch.

All three formats the loader reads are zip archives. Opening one names the file and says what is
wrong with it (empty, not a zip, truncated, corrupted, a zip bomb) before anything is unpickled;
``inspector check`` uses the same check, so a damaged file is refused there too, quickly.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from inspector.errors import ModelError

EXPECTED = (
    "expected a YOLOv8/YOLO11/YOLO26 segmentation checkpoint saved by ultralytics (best.pt), an "
    "inspector model (written by 'inspector model convert') or an ultralytics TorchScript export"
)
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
# yolov8x-seg last.pt with optimizer state is ~0.9 GB; a file declaring far more is not a model
MAX_UNPACKED_BYTES = 4 * 1024**3
# torch stores entries uncompressed; a deflated entry that expands this much is a zip bomb
MAX_COMPRESSION_RATIO = 200
# what reading a damaged zip raises: unsupported compression is NotImplementedError
UNREADABLE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)


def fail(path: Path, why: str) -> ModelError:
    return ModelError(f"model file {path}: {why}; {EXPECTED}")


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelError(f"model file {path} is a directory, not a file") from None
    except OSError as exc:
        raise ModelError(f"model file {path} cannot be read: {exc.strerror}") from None
    if not head:
        raise fail(path, "the file is empty")
    if head.startswith(LEGACY_TORCH_MAGIC[:4]) and LEGACY_TORCH_MAGIC[4:] in head + b"\0" * 16:
        raise fail(path, "it uses torch's legacy (pre-1.6) serialisation; re-save it with a recent torch")
    if not head.startswith(b"PK"):
        raise fail(path, "it is not a torch zip archive")
    try:
        archive = zipfile.ZipFile(path)
    except UNREADABLE as exc:
        raise fail(path, f"the archive is truncated or corrupted ({one_line(exc)})") from None
    try:
        check_unpacked_size(path, archive)
        bad = archive.testzip()
    except ModelError:
        archive.close()
        raise
    except RuntimeError:  # zipfile's word for an entry that needs a password
        archive.close()
        raise fail(path, "the archive is encrypted") from None
    except UNREADABLE as exc:  # a deflated entry with corrupted data raises zlib.error
        archive.close()
        raise fail(path, f"the archive is truncated or corrupted ({one_line(exc)})") from None
    if bad is not None:
        archive.close()
        raise fail(path, f"the archive is corrupted (bad CRC in {bad})")
    return archive


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def check_unpacked_size(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse archives whose entries would unpack to absurd sizes, before any is read (zipfile
    never yields more than an entry's declared size, so the declared sizes bound the reads)."""
    total = 0
    for entry in archive.infolist():
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.compress_type != zipfile.ZIP_STORED and ratio > MAX_COMPRESSION_RATIO:
            raise fail(path, f"entry {entry.filename} expands {ratio:.0f}x when unpacked (a zip bomb?)")
    if total > MAX_UNPACKED_BYTES:
        raise fail(
            path,
            f"it would unpack to {human_size(total)} (limit {human_size(MAX_UNPACKED_BYTES)})",
        )


def human_size(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:.1f} MiB"
