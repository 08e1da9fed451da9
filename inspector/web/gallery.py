"""The last non-PASS parts: what the page lists, and the full overlay of one on request.

Each entry keeps its small JSON (verdict, every reason, part id, seq, camera, time, stage
timings). The picture comes from the reject archive when the archive keeps that part (the
overlay PNG it writes), else from the part itself, kept in memory until the entry leaves the
gallery; the gallery's size bounds that memory. Pictures are drawn on request and cached.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from inspector.archive.overlay import box_window
from inspector.archive.picture import capture_time, overlay_image
from inspector.archive.writer import ArchiveWriter
from inspector.logging import get_logger
from inspector.messages import Detections, FrameMsg, VerdictCode

log = get_logger("web")


@dataclass(frozen=True)
class CompactPart:
    """A part without its full-frame masks (N x H x W: ~15 MB for 50 instances at 640x480): each
    mask cut to its box, put back only while its overlay is drawn."""

    msg: FrameMsg  # detections=None
    detections: Detections
    crops: tuple[tuple[slice, slice, np.ndarray], ...]

    @classmethod
    def of(cls, msg: FrameMsg) -> CompactPart | FrameMsg:
        det = msg.detections
        if det is None or len(det) == 0:
            return msg
        height, width = det.image_shape
        masks = det.masks.detach().to("cpu")
        crops = []
        for i, box in enumerate(det.boxes.detach().to("cpu").numpy()):
            rows, cols = box_window(box, height, width)
            crops.append((rows, cols, masks[i, rows, cols].numpy().copy()))
        empty = torch.zeros((0, 1, 1), dtype=torch.bool)
        return cls(
            dataclasses.replace(msg, detections=None), dataclasses.replace(det, masks=empty), tuple(crops)
        )

    def expand(self) -> FrameMsg:
        height, width = self.msg.image.shape[:2]
        masks = np.zeros((len(self.crops), height, width), bool)
        for i, (rows, cols, crop) in enumerate(self.crops):
            masks[i, rows, cols] = crop
        det = dataclasses.replace(self.detections, masks=torch.from_numpy(masks))
        return dataclasses.replace(self.msg, detections=det)


@dataclass
class Entry:
    """One gallery part: its id on the page, its JSON, and where its picture comes from."""

    id: int
    info: dict[str, Any]
    msg: FrameMsg | CompactPart | None = None  # kept while the archive does not hold the part
    archive_stem: tuple[Path, str] | None = None  # (archive dir, "<seq>_<camera>") to find its files
    overlay_file: Path | None = None
    jpeg: bytes | None = field(default=None, repr=False)


def part_info(msg: FrameMsg) -> dict[str, Any]:
    verdict = msg.verdict
    return {
        "seq": msg.seq,
        "camera": msg.source_id,
        "part_id": msg.part_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(capture_time(msg))),
        "verdict": verdict.code.name if verdict else VerdictCode.NONE.name,
        "failsafe": bool(verdict.failsafe) if verdict else True,
        "reasons": [asdict(r) for r in verdict.reasons] if verdict else [],
        "timings_ms": {stage: round(ms, 3) for stage, ms in msg.timings_ms},
    }


def _camera_tag(source_id: str) -> str:
    # the archive writer's file-name form of a camera id
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in source_id)[:40]


class Gallery:
    """Bounded, thread-safe: ``add`` (the line, never blocks long), ``listing``/``picture`` (HTTP)."""

    def __init__(self, size: int, archive: ArchiveWriter | None, alpha: float) -> None:
        self._entries: collections.deque[Entry] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self._archive = archive
        self._alpha = alpha
        self._next_id = 1

    def add(self, msg: FrameMsg) -> None:
        verdict = msg.verdict
        if verdict is not None and verdict.code is VerdictCode.PASS:
            return
        archive = self._archive
        stem = None
        if archive is not None and archive.wants(msg):
            stem = (archive.root, f"{msg.seq:09d}_{_camera_tag(msg.source_id)}")
        with self._lock:
            entry = Entry(self._next_id, part_info(msg), None if stem else msg, stem)
            self._next_id += 1
            self._entries.append(entry)

    def compact(self) -> None:
        """Cut the masks of newly kept parts to their boxes (the web's worker, not the line)."""
        with self._lock:
            fresh = [e for e in self._entries if isinstance(e.msg, FrameMsg)]
        for entry in fresh:
            msg = entry.msg
            if isinstance(msg, FrameMsg):
                entry.msg = CompactPart.of(msg)

    def load_archive(self) -> None:
        """The newest archived records, so the gallery shows the rejects from before a restart."""
        if self._archive is None:
            return
        root = self._archive.root
        days = sorted((p for p in root.glob("????-??-??") if p.is_dir()), reverse=True)
        wanted = self._entries.maxlen or 0
        found: list[Entry] = []
        for day in days:
            for record in sorted(day.glob("*.json"), reverse=True):
                entry = self._from_record(record)
                if entry is not None:
                    found.append(entry)
                if len(found) >= wanted:
                    break
            if len(found) >= wanted:
                break
        with self._lock:
            for entry in reversed(found):
                entry.id = self._next_id
                self._next_id += 1
                self._entries.append(entry)

    @staticmethod
    def _from_record(path: Path) -> Entry | None:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            overlay = path.parent / Path(str(record["files"]["overlay"])).name
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("web_archive_record_unreadable", path=str(path), error=repr(exc))
            return None
        info = {
            "seq": record.get("seq"),
            "camera": record.get("source_id"),
            "part_id": record.get("part_id"),
            "time": record.get("archived_at"),
            "verdict": record.get("verdict"),
            "failsafe": record.get("failsafe"),
            "reasons": record.get("reasons", []),
            "timings_ms": record.get("timings_ms", {}),
        }
        return Entry(0, info, overlay_file=overlay)

    def listing(self) -> list[dict[str, Any]]:
        """Newest first: each entry's id and JSON."""
        with self._lock:
            entries = list(self._entries)
        return [{"id": e.id, **e.info} for e in reversed(entries)]

    def picture(self, entry_id: int, quality: int) -> bytes | None:
        """The JPEG of an entry's full overlay; None for an unknown id or a missing file."""
        with self._lock:
            entry = next((e for e in self._entries if e.id == entry_id), None)
        if entry is None:
            return None
        if entry.jpeg is None:
            image = self._overlay(entry)
            if image is None:
                return None
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            entry.jpeg = buf.tobytes() if ok else None
            entry.msg = None  # drawn once: the picture is all the page needs of the part
        return entry.jpeg

    def _overlay(self, entry: Entry) -> Any:
        msg = entry.msg
        if msg is not None:
            return overlay_image(msg.expand() if isinstance(msg, CompactPart) else msg, self._alpha)
        if entry.overlay_file is None and entry.archive_stem is not None:
            root, stem = entry.archive_stem
            # the writer names records <stamp>_<seq>_<camera>: find the part's by its seq and camera
            hits = sorted(root.glob(f"????-??-??/*_{stem}.overlay.png"))
            entry.overlay_file = hits[-1] if hits else None
        if entry.overlay_file is None or not entry.overlay_file.is_file():
            return None
        return cv2.imread(str(entry.overlay_file), cv2.IMREAD_COLOR)
