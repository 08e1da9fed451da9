"""What health and the watchdogs read off a built line, as typed probes and collectors.

One StageView per stage thread; probes for the cameras, the PLC link and the archive; the line
counters for /metrics; and the listener that drives the PLC heartbeat and the status word's
fault / degraded bits from health.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from inspector.app.config import OverflowPolicy
from inspector.app.delivery import DeliveryStage, RescueLane
from inspector.app.interfaces import ConfiguredEngine, InferenceEngine
from inspector.app.outputs import Outputs
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item, Stage
from inspector.archive.writer import ArchiveWriter
from inspector.health.metrics import Metric
from inspector.health.service import HealthService
from inspector.health.state import ComponentHealth, HealthSnapshot, HealthState
from inspector.sources import SourceReader, SourceState
from inspector.watchdog.liveness import StageView

ARCHIVE_ERROR_DEGRADED_S = 60.0  # a write error keeps the archive degraded this long


def stage_view(stage: Stage, intake_stop: threading.Event) -> StageView:
    inbox = stage.inbox

    def processed() -> int:
        return int(stage.processed)

    def queued() -> int:
        return int(inbox.depth()) if inbox is not None else 0

    def alive() -> bool:
        # Not started yet, stopping, or ended at its stream's end marker is not "died";
        # only a thread that ended by crashing is.
        if stage.is_alive() or stage.ident is None or intake_stop.is_set():
            return True
        return stage.crashed is None

    # Only a dropping queue degrades health when full: it is losing frames. A full BLOCK queue
    # is flow control (its depth is still in the metrics; a stage that stops is caught as stalled).
    drops = inbox is not None and inbox.policy is OverflowPolicy.DROP_OLDEST
    capacity = int(inbox.size) if drops and inbox is not None else 0
    return StageView(stage.stage_name, processed, queued, capacity, alive)


def stage_views(stages: Sequence[Stage], intake_stop: threading.Event) -> list[StageView]:
    return [stage_view(stage, intake_stop) for stage in stages]


def camera_probe(readers: Sequence[SourceReader]) -> Callable[[], ComponentHealth]:
    def probe() -> ComponentHealth:
        lost = [r.source_id for r in readers if r.state is SourceState.LOST]
        if lost:
            return ComponentHealth("camera", HealthState.DEGRADED, "lost: " + ", ".join(lost))
        lost_frames = sum(r.stats().device.get("lost_frames", 0) for r in readers)
        detail = f", {lost_frames} camera frame(s) lost" if lost_frames else ""
        return ComponentHealth("camera", HealthState.OK, f"{len(readers)} source(s){detail}")

    return probe


# PLC counters whose growth means inspection is slower than the parts reach the gate, so the line
# cannot be trusted: results written too late to pulse, free-run parts failed safe at their
# deadline (code 900) and the verdicts that came after such a deadline (dropped).
LATENESS = (
    ("late", "result(s) too late to pulse"),
    ("deadline_failsafes", "part(s) failed safe at their deadline (900)"),
    ("late_verdicts", "verdict(s) after their deadline dropped"),
)


def plc_probe(outputs: Outputs) -> Callable[[], ComponentHealth]:
    """Link down, the PLC's own heartbeat missing (when watched), or new results too late for their
    pulse, deadline fail-safes or late verdicts (the line is slower than the parts come): degraded,
    each lateness for one look after it grew; the link retries."""
    seen: dict[str, int] = {}
    link = outputs.link()
    names = ", ".join(type(o).__name__ for o in outputs.verdicts)

    def probe() -> ComponentHealth:
        if link is None:
            return ComponentHealth("plc", HealthState.OK, names)
        if not link.link_up:
            return ComponentHealth("plc", HealthState.DEGRADED, "link down")
        snapshot = link.stats()
        if snapshot.plc_alive is False:
            return ComponentHealth("plc", HealthState.DEGRADED, "PLC heartbeat missing")
        fresh = []
        counts = dataclasses.asdict(snapshot)
        for key, what in LATENESS:
            total = int(counts[key])
            new, seen[key] = total - seen.get(key, 0), total
            if new > 0:
                fresh.append(f"{new} {what} ({total} total)")
        if fresh:
            why = "; ".join(fresh) + ": inspection slower than the line"
            return ComponentHealth("plc", HealthState.DEGRADED, why)
        return ComponentHealth("plc", HealthState.OK, "link up")

    return probe


def engine_on_cpu_fallback(engine: InferenceEngine) -> bool:
    """The engine runs on CPU though its config did not ask for CPU (``auto`` found no usable GPU)."""
    if not isinstance(engine, ConfiguredEngine):
        return False
    return engine.device.type == "cpu" and str(engine.config.device) != "cpu"


def plc_status_flags(snap: HealthSnapshot, engine: InferenceEngine) -> dict[str, bool]:
    """Status-word bits from health: fault = failing (a stage stalled or died, the engine or model
    unusable); degraded = degraded, or inference on a CPU where a GPU was expected."""
    failing = snap.state is HealthState.FAILING
    degraded = snap.state is HealthState.DEGRADED or engine_on_cpu_fallback(engine)
    return {"fault": failing, "degraded": degraded}


def status_heartbeat(
    health: HealthService, outputs: Outputs, intake_stop: threading.Event, engine: InferenceEngine
) -> Callable[[HealthSnapshot], None]:
    """The health listener that drives the outputs' heartbeat and status bits, on change only
    (each one is a status-word write to the PLC); unhealthy once the intake stopped."""
    healthy_now: list[bool | None] = [None]
    flags_now: list[dict[str, bool] | None] = [None]

    def heartbeat(snap: HealthSnapshot) -> None:
        healthy = health.healthy(snap) and not intake_stop.is_set()
        if healthy != healthy_now[0]:
            healthy_now[0] = healthy
            outputs.set_healthy(healthy)
        flags = plc_status_flags(snap, engine)
        if flags != flags_now[0]:
            flags_now[0] = flags
            outputs.set_status(**flags)

    return heartbeat


PLC_METRICS = (
    "submitted",
    "delivered",
    "dropped",
    "late",
    "deadline_failsafes",
    "late_verdicts",
    "errors",
    "reconnects",
    "pending",
)


def _link_metrics(outputs: Outputs) -> list[Metric]:
    snapshot = outputs.link_stats()
    if snapshot is None:
        return []
    metrics, counts = [], dataclasses.asdict(snapshot)
    for key in PLC_METRICS:
        kind: Literal["gauge", "counter"] = "gauge" if key == "pending" else "counter"
        name = f"inspector_plc_{key}" + ("" if kind == "gauge" else "_total")
        metrics.append(Metric.single(name, kind, f"PLC output: {key}.", counts[key]))
    metrics.append(
        Metric.single("inspector_plc_link_up", "gauge", "1 while the PLC link is up.", snapshot.link_up)
    )
    if snapshot.plc_alive is not None:  # None: the PLC's heartbeat is not watched
        alive = float(snapshot.plc_alive)
        metrics.append(
            Metric.single("inspector_plc_alive", "gauge", "1 while the PLC's heartbeat moves.", alive)
        )
    return metrics


def _device_metrics(samples: tuple[tuple[tuple[tuple[str, str], ...], float], ...]) -> list[Metric]:
    """Industrial cameras' own counters (lost frames, failed buffers, driver stream counters)."""
    help = "A camera's own counters: lost_frames, failed_buffers, timeouts, driver stream counters."
    return [Metric("inspector_source_device_total", "counter", help, samples)] if samples else []


def line_metrics(
    delivery: DeliveryStage,
    lane: RescueLane,
    queues: Mapping[str, StageQueue[Item]],
    readers: Sequence[SourceReader],
    outputs: Outputs,
) -> Callable[[], list[Metric]]:
    """Line counters for /metrics: verdicts, fail-safes, queue drops, camera reconnects, PLC link."""

    def collect() -> list[Metric]:
        drops = tuple(((("queue", name),), float(q.dropped)) for name, q in queues.items())
        sources = [r.stats() for r in readers]
        reconnects = tuple(((("source", s.source_id),), float(s.reconnects)) for s in sources)
        frames = tuple(((("source", s.source_id),), float(s.frames)) for s in sources)
        device = tuple(
            ((("source", s.source_id), ("counter", name)), float(n))
            for s in sources
            for name, n in s.device.items()
        )
        return [
            Metric.single(
                "inspector_verdicts_total", "counter", "Frames answered at the output.", delivery.delivered
            ),
            Metric.single(
                "inspector_failsafe_rescued_total",
                "counter",
                "Fail-safe messages rescued to the output.",
                lane.rescued,
            ),
            Metric("inspector_queue_dropped_total", "counter", "Items dropped by queue overflow.", drops),
            Metric("inspector_source_frames_total", "counter", "Frames read per source.", frames),
            Metric("inspector_source_reconnects_total", "counter", "Source reconnects.", reconnects),
            *_device_metrics(device),
            *_link_metrics(outputs),
        ]

    return collect


def archive_probe(archive: ArchiveWriter) -> Callable[[], ComponentHealth]:
    """Degraded for a while after a write error; else ok, with what was written and dropped."""

    def probe() -> ComponentHealth:
        s = archive.stats()
        dropped = s.dropped_queue_full + s.dropped_disk_low
        detail = f"{s.written} written, {dropped} dropped, {s.errors} errors"
        error, at = archive.last_error()
        if time.monotonic() - at < ARCHIVE_ERROR_DEGRADED_S:
            return ComponentHealth(archive.name, HealthState.DEGRADED, f"{detail}; last: {error[:80]}")
        return ComponentHealth(archive.name, HealthState.OK, detail)

    return probe


def archive_metrics(archive: ArchiveWriter) -> Callable[[], list[Metric]]:
    def collect() -> list[Metric]:
        s = archive.stats()
        drops = (
            ((("reason", "queue_full"),), float(s.dropped_queue_full)),
            ((("reason", "disk_low"),), float(s.dropped_disk_low)),
        )
        return [
            Metric.single("inspector_archive_written_total", "counter", "Records archived.", s.written),
            Metric("inspector_archive_dropped_total", "counter", "Records not archived.", drops),
            Metric.single("inspector_archive_errors_total", "counter", "Archive write errors.", s.errors),
            Metric.single(
                "inspector_archive_deleted_total", "counter", "Records deleted by quota.", s.deleted
            ),
            Metric.single(
                "inspector_archive_used_bytes", "gauge", "Bytes used by the archive.", s.used_bytes
            ),
        ]

    return collect
