"""The reject archive, an output of the line: its own thread and bounded queue; ``submit``
never blocks the line.

When the queue is full, or the disk is short of space, the record is dropped and
counted (``stats()``), never waited for. Files are written under
``<dir>/<YYYY-MM-DD>/<stem>.*``; the JSON goes last, so a record with a JSON file
is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass

import cv2

from inspector.archive.config import ArchiveConfig
from inspector.archive.overlay import record_json
from inspector.archive.picture import overlay_image
from inspector.archive.quota import QuotaIndex
from inspector.errors import ConfigError
from inspector.logging import get_logger
from inspector.messages import FrameMsg, VerdictCode

log = get_logger("archive")

MIB = 1024 * 1024
_GET_TIMEOUT_S = 0.2


@dataclass(frozen=True, slots=True)
class ArchiveStats:
    written: int
    dropped_queue_full: int
    dropped_disk_low: int
    errors: int
    deleted: int
    used_bytes: int
    queued: int


class ArchiveWriter:
    """``start()``, ``submit(msg)`` for every part with a verdict, ``stop(timeout)``: the line's
    ``Output`` interface. Health and metrics read ``stats()`` and ``last_error()``."""

    name = "archive"

    def __init__(self, config: ArchiveConfig) -> None:
        self.config = config
        self.root = config.dir
        self._queue: queue.Queue[FrameMsg] = queue.Queue(maxsize=config.queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.index = QuotaIndex(self.root, config.quota_mib * MIB)
        self._lock = threading.Lock()
        self._written = self._dropped_full = self._dropped_disk = self._errors = 0
        self._last_error = ""
        self._last_error_at = -1e9

    def wants(self, msg: FrameMsg) -> bool:
        verdict = msg.verdict
        if verdict is None or verdict.code in (VerdictCode.PASS, VerdictCode.NONE):
            return False
        if verdict.failsafe and not self.config.include_failsafe:
            return False
        return verdict.code is VerdictCode.REJECT or self.config.include_alarm

    def start(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"archive.dir: {self.root} is not writable: {exc.strerror}") from None
        self.index.scan()
        self.index.enforce()
        self._thread = threading.Thread(target=self._run, name="archive", daemon=True)
        self._thread.start()
        log.info(
            "archive_started",
            dir=str(self.root),
            records=self.index.records,
            used_mib=round(self.index.used_bytes / MIB, 1),
            quota_mib=self.config.quota_mib,
        )

    def submit(self, msg: FrameMsg) -> bool:
        """Queue a part if its verdict qualifies; False when not queued (not wanted, or dropped)."""
        if not self.wants(msg):
            return False
        try:
            self._queue.put_nowait(msg)
        except queue.Full:
            with self._lock:
                self._dropped_full += 1
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._queue.get(timeout=_GET_TIMEOUT_S)
            except queue.Empty:
                continue
            self._write_safely(msg)

    def _write_safely(self, msg: FrameMsg) -> None:
        if self._disk_low():
            with self._lock:
                self._dropped_disk += 1
            return
        try:
            self._write(msg)
        except Exception as exc:  # the archive must never take the line down
            with self._lock:
                self._errors += 1
                self._last_error = str(exc)
                self._last_error_at = time.monotonic()
            log.error("archive_write_failed", seq=msg.seq, error=repr(exc))

    def _disk_low(self) -> bool:
        try:
            return shutil.disk_usage(self.root).free < self.config.min_free_mib * MIB
        except OSError:
            return True

    def _write(self, msg: FrameMsg) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.3f}"[1:] + "Z"
        source = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in msg.source_id)[:40]
        stem = f"{stamp}_{msg.seq:09d}_{source}"
        folder = self.root / day
        folder.mkdir(exist_ok=True)
        params = [cv2.IMWRITE_PNG_COMPRESSION, self.config.png_compression]
        # the same suffixes as quota.RECORD_SUFFIXES, which groups a record's files by stem
        image_path, overlay_path, json_path = (
            folder / f"{stem}{ext}" for ext in (".png", ".overlay.png", ".json")
        )
        if not cv2.imwrite(str(image_path), msg.image, params):
            raise OSError(f"cannot write {image_path}")
        overlay = overlay_image(msg, self.config.overlay_alpha)
        if not cv2.imwrite(str(overlay_path), overlay, params):
            raise OSError(f"cannot write {overlay_path}")
        record = record_json(msg, {"image": image_path.name, "overlay": overlay_path.name})
        tmp = json_path.with_name(f".{json_path.name}.tmp")
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(tmp, json_path)
        self.index.add((day, stem), [image_path, overlay_path, json_path])
        self.index.enforce()
        with self._lock:
            self._written += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued within ``timeout``, then stop; the rest count as dropped."""
        deadline = time.monotonic() + timeout
        while (
            not self._queue.empty()
            and time.monotonic() < deadline
            and self._thread
            and self._thread.is_alive()
        ):
            time.sleep(0.02)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
        left = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            left += 1
        with self._lock:
            self._dropped_full += left
        log.info("archive_stopped", **dataclasses.asdict(self.stats()))

    def stats(self) -> ArchiveStats:
        with self._lock:
            return ArchiveStats(
                self._written,
                self._dropped_full,
                self._dropped_disk,
                self._errors,
                self.index.deleted_records,
                self.index.used_bytes,
                self._queue.qsize(),
            )

    def last_error(self) -> tuple[str, float]:
        """The last write error and when it happened (monotonic; far in the past when none)."""
        with self._lock:
            return self._last_error, self._last_error_at
