"""Disk quota of the archive: an index of records by age, oldest deleted first.

A record is the files sharing one stem (``<stem>.png``, ``<stem>.overlay.png``,
``<stem>.json``); stems start with a UTC timestamp, so name order is age order.
The index is built by scanning the directory once at start and kept in memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from pathlib import Path

from inspector.logging import get_logger

log = get_logger("archive.quota")


# Longest first: "x.overlay.png" must lose ".overlay.png", not only ".png".
RECORD_SUFFIXES = (".overlay.png", ".png", ".json")


def stem_of(path: Path) -> str:
    """The record a file belongs to. Stems hold dots themselves (the milliseconds of the
    timestamp), so only a known suffix is cut, else the last one."""
    name = path.name
    for suffix in RECORD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem


class QuotaIndex:
    """Bytes used per record; ``enforce()`` deletes the oldest records until under quota."""

    def __init__(self, root: Path, quota_bytes: int) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self._records: OrderedDict[tuple[str, str], list[Path]] = OrderedDict()
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.used_bytes = 0
        self.deleted_records = 0

    def scan(self) -> None:
        """Index what is already on disk (from earlier runs)."""
        found: dict[tuple[str, str], list[Path]] = {}
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = (path.parent.name, stem_of(path))
                found.setdefault(key, []).append(path)
        with self._lock:
            self._records.clear()
            self._sizes.clear()
            self.used_bytes = 0
        for key in sorted(found):
            self.add(key, found[key])

    def add(self, key: tuple[str, str], files: list[Path]) -> None:
        size = 0
        for path in files:
            try:
                size += path.stat().st_size
            except OSError:
                continue
        with self._lock:
            self._records[key] = files
            self._sizes[key] = size
            self.used_bytes += size

    def enforce(self) -> int:
        """Delete oldest records while over quota (the newest record always stays); returns count."""
        deleted = 0
        while True:
            with self._lock:
                if self.used_bytes <= self.quota_bytes or len(self._records) <= 1:
                    break
                key, files = self._records.popitem(last=False)
                self.used_bytes -= self._sizes.pop(key)
            for path in files:
                path.unlink(missing_ok=True)
            self._remove_empty_dir(files[0].parent if files else None)
            deleted += 1
        self.deleted_records += deleted
        return deleted

    def _remove_empty_dir(self, directory: Path | None) -> None:
        if directory is None or directory == self.root:
            return
        with contextlib.suppress(OSError):  # not empty yet: newer records of the same day
            directory.rmdir()

    @property
    def records(self) -> int:
        return len(self._records)
