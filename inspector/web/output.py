"""The line's hook into the page: an ``Output`` whose ``submit`` only keeps references.

``submit`` runs on the delivery thread for every part: it stores the part as its camera's
latest and, when not PASS, adds it to the gallery (a few dict and deque operations under a
lock). Drawing and encoding happen elsewhere (``frames.LiveEncoder``), only while watched.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.archive.writer import ArchiveWriter
from inspector.health.http import snapshot_json
from inspector.health.state import HealthSnapshot
from inspector.logging import get_logger
from inspector.messages import FrameMsg
from inspector.web.config import WebConfig
from inspector.web.frames import LiveEncoder
from inspector.web.gallery import Gallery

log = get_logger("web")

HOUR_S = 3600.0
SNAPSHOT_EVERY_S = 60.0
STATUS_MAX_AGE_S = 0.5


@dataclass(frozen=True)
class LineStatus:
    """What the page reads off the line, each figure from where the line already keeps it.

    ``totals``: since start (parts, fps, verdicts, fail-safes by code, e2e percentiles);
    ``cameras``: per camera its state, exposure and gain (text, "n/a" where unknown);
    ``health``: the aggregate health and each component's state and why."""

    totals: Callable[[], dict[str, Any]]
    cameras: Callable[[], Mapping[str, Mapping[str, Any]]]
    health: Callable[[], HealthSnapshot]


@dataclass
class _Snapshots:
    """Cumulative totals once a minute: the last hour is now minus the one an hour ago."""

    taken: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)

    def add(self, now: float, totals: dict[str, Any]) -> None:
        if not self.taken or now - self.taken[-1][0] >= SNAPSHOT_EVERY_S:
            self.taken.append((now, totals))
        while len(self.taken) > 1 and now - self.taken[1][0] >= HOUR_S:
            self.taken.popleft()

    def since(self) -> tuple[float, dict[str, Any]] | None:
        return self.taken[0] if self.taken else None


class WebOutput:
    """``start``/``submit``/``stop`` as an ``Output``; the routes read ``latest``, ``gallery``,
    ``encoder`` and ``status()``."""

    name = "web"

    def __init__(self, config: WebConfig, overlay_alpha: float, archive: ArchiveWriter | None) -> None:
        self.config = config
        self._latest: dict[str, FrameMsg] = {}
        self._lock = threading.Lock()
        self.gallery = Gallery(config.gallery_size, archive, overlay_alpha)
        self.encoder = LiveEncoder(config, overlay_alpha, self.latest, self._sample_hour)
        self.line: LineStatus | None = None
        self._hour = _Snapshots()
        self.started = threading.Event()
        self.submitted = 0
        self._status: tuple[float, dict[str, Any]] | None = None

    def attach(self, line: LineStatus) -> None:
        """The line's figures, once the line is built (the output is built before them)."""
        self.line = line

    def start(self) -> None:
        if self.line is not None:  # the hour starts with the line, before its first part
            self._hour.add(time.monotonic(), self.line.totals())
        self.gallery.load_archive()
        self.encoder.start()
        self.started.set()

    def stop(self, timeout: float) -> None:
        self.started.clear()
        self.encoder.stop(timeout)

    def submit(self, msg: FrameMsg) -> None:
        with self._lock:
            self._latest[msg.source_id] = msg
            self.submitted += 1
        self.gallery.add(msg)

    def latest(self, camera: str) -> FrameMsg | None:
        with self._lock:
            return self._latest.get(camera)

    def cameras(self) -> list[str]:
        known = set(self.line.cameras()) if self.line is not None else set()
        with self._lock:
            known.update(self._latest)
        return sorted(known)

    def _sample_hour(self) -> None:
        """Called by the encoder's loop about once a second, watched or not: the hour's totals,
        and the gallery's new parts made small."""
        self.gallery.compact()
        line = self.line
        now = time.monotonic()
        with self._lock:
            due = line is not None and (
                not self._hour.taken or now - self._hour.taken[-1][0] >= SNAPSHOT_EVERY_S
            )
        if due and line is not None:
            try:
                totals = line.totals()
            except Exception as exc:  # a figure that fails must not stop the page's worker
                log.warning("web_totals_failed", error=repr(exc))
                return
            with self._lock:
                self._hour.add(now, totals)

    def status(self) -> dict[str, Any]:
        """Counters since start and for the last hour, cameras, health, and the page's own figures;
        computed at most twice a second however many viewers ask."""
        now = time.monotonic()
        with self._lock:
            cached = self._status
        if cached is not None and now - cached[0] < STATUS_MAX_AGE_S:
            return dict(cached[1])
        status = self._status_now()
        with self._lock:
            self._status = (now, status)
        return dict(status)

    def _status_now(self) -> dict[str, Any]:
        line = self.line
        if line is None:
            return {"ready": False}
        totals = line.totals()
        now = time.monotonic()
        with self._lock:
            since = self._hour.since()
        return {
            "ready": True,
            "since_start": {k: v for k, v in totals.items() if k != "e2e_buckets"},
            "last_hour": _difference(totals, since[1], now - since[0]) if since else totals,
            "cameras": {cam: dict(info) for cam, info in line.cameras().items()},
            "health": snapshot_json(line.health()),
            "page": {"viewers": self.encoder.viewers(), "encoded": self.encoder.encoded},
        }


def _difference(now: dict[str, Any], then: dict[str, Any], span_s: float) -> dict[str, Any]:
    """Counts in ``now`` minus those in ``then``; fps over the span (percentiles: since start)."""
    parts = int(now.get("parts", 0)) - int(then.get("parts", 0))
    out: dict[str, Any] = {"parts": parts, "span_s": round(span_s, 1)}
    for key in ("verdicts", "failsafes"):
        new, old = now.get(key, {}), then.get(key, {})
        out[key] = {k: int(v) - int(old.get(k, 0)) for k, v in new.items() if int(v) - int(old.get(k, 0))}
    out["fps"] = round(parts / span_s, 3) if span_s >= 1.0 else now.get("fps", 0.0)
    new_buckets, old_buckets = now.get("e2e_buckets", {}), then.get("e2e_buckets", {})
    delta = {le: n - old_buckets.get(le, 0.0) for le, n in new_buckets.items()}
    out["e2e_ms"] = {f"p{round(q * 100)}": bucket_quantile(delta, q) for q in (0.5, 0.99)}
    return out


def bucket_quantile(buckets: Mapping[str, float], q: float) -> float | None:
    """The ``q`` quantile (ms) of a cumulative histogram (bound in seconds -> count), linear
    inside the bucket it falls in, as Prometheus' histogram_quantile; None without counts."""
    bounds = sorted((float(le), n) for le, n in buckets.items())
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in bounds:
        if count >= rank:
            if upper == float("inf"):
                return round(lower * 1000.0, 1)  # above the last finite bound: that bound
            share = (rank - below) / (count - below) if count > below else 1.0
            return round((lower + (upper - lower) * share) * 1000.0, 1)
        lower, below = upper, count
    return None
