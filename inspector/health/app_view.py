"""What the App exposes to the watchdogs and health, read off a built line.

``supervise(app)`` builds the Supervisor for a started-to-be App: one StageView
per stage thread, the engine's device, probes for cameras, the PLC link and
the engine, the PLC heartbeat and the status word's fault / degraded bits driven
by health, and watchdog restarts routed to the App's graceful stop. Duck-typed on
the App to keep the import graph acyclic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.app.config import OverflowPolicy
from inspector.archive.writer import ArchiveWriter
from inspector.health.engine_calls import engine_probe
from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthSnapshot, HealthState
from inspector.health.supervisor import LineView, Supervisor
from inspector.logging import get_logger
from inspector.watchdog.liveness import StageView
from inspector.watchdog.restart import RestartReason

log = get_logger("health.app")


def _view(app: Any, stage: Any) -> StageView:
    inbox = stage.inbox

    def processed() -> int:
        return int(stage.processed)

    def queued() -> int:
        return int(inbox.depth()) if inbox is not None else 0

    def alive() -> bool:
        # Not started yet, stopping, or ended at its stream's end marker is not "died";
        # only a thread that ended by crashing is.
        if stage.is_alive() or stage.ident is None or app.intake_stop.is_set():
            return True
        return getattr(stage, "crashed", None) is None

    # Only a dropping queue degrades health when full: it is losing frames. A full BLOCK queue
    # is flow control (its depth is still in the metrics; a stage that stops is caught as stalled).
    drops = inbox is not None and inbox.policy is OverflowPolicy.DROP_OLDEST
    capacity = int(inbox.size) if drops else 0
    return StageView(stage.stage_name, processed, queued, capacity, alive)


def stage_views(app: Any) -> list[StageView]:
    return [_view(app, stage) for stage in app.line.stages]


def _inference_stage(app: Any) -> Any | None:
    return next((s for s in app.line.stages if hasattr(s, "oom_guard")), None)


def camera_probe(app: Any) -> Callable[[], ComponentHealth]:
    def probe() -> ComponentHealth:
        lost = [r.source_id for r in app.line.readers if getattr(r.state, "value", "") == "lost"]
        if lost:
            return ComponentHealth("camera", HealthState.DEGRADED, "lost: " + ", ".join(lost))
        return ComponentHealth("camera", HealthState.OK, f"{len(app.line.readers)} source(s)")

    return probe


# PLC counters whose growth means inspection is slower than the parts reach the gate, so the line
# cannot be trusted: results written too late to pulse, free-run parts failed safe at their
# deadline (code 900) and the verdicts that came after such a deadline (dropped).
LATENESS = (
    ("late", "result(s) too late to pulse"),
    ("deadline_failsafes", "part(s) failed safe at their deadline (900)"),
    ("late_verdicts", "verdict(s) after their deadline dropped"),
)


def plc_probe(output: Any) -> Callable[[], ComponentHealth]:
    """Link down, the PLC's own heartbeat missing (when watched), or new results too late for their
    pulse, deadline fail-safes or late verdicts (the line is slower than the parts come): degraded,
    each lateness for one look after it grew; the link retries."""
    seen: dict[str, int] = {}

    def probe() -> ComponentHealth:
        up = getattr(output, "link_up", None)
        if up is None:
            return ComponentHealth("plc", HealthState.OK, type(output).__name__)
        if not up:
            return ComponentHealth("plc", HealthState.DEGRADED, "link down")
        stats = getattr(output, "stats", None)
        snapshot = stats() if stats is not None else None
        if snapshot is not None and getattr(snapshot, "plc_alive", None) is False:
            return ComponentHealth("plc", HealthState.DEGRADED, "PLC heartbeat missing")
        fresh = []
        for key, what in LATENESS:
            total = int(getattr(snapshot, key, 0) or 0)
            new, seen[key] = total - seen.get(key, 0), total
            if new > 0:
                fresh.append(f"{new} {what} ({total} total)")
        if fresh:
            why = "; ".join(fresh) + ": inspection slower than the line"
            return ComponentHealth("plc", HealthState.DEGRADED, why)
        return ComponentHealth("plc", HealthState.OK, "link up")

    return probe


def engine_on_cpu_fallback(engine: Any) -> bool:
    """The engine runs on CPU though its config did not ask for CPU (``auto`` found no usable GPU)."""
    device = getattr(engine, "device", None)
    requested = getattr(getattr(engine, "config", None), "device", None)
    if device is None or requested is None:
        return False
    return str(getattr(device, "type", device)).startswith("cpu") and str(requested) != "cpu"


def plc_status_flags(snap: HealthSnapshot, engine: Any) -> dict[str, bool]:
    """Status-word bits from health: fault = failing (a stage stalled or died, the engine or model
    unusable); degraded = degraded, or inference on a CPU where a GPU was expected."""
    failing = snap.state is HealthState.FAILING
    degraded = snap.state is HealthState.DEGRADED or engine_on_cpu_fallback(engine)
    return {"fault": failing, "degraded": degraded}


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


def line_metrics(app: Any) -> Callable[[], list[Metric]]:
    """Line counters for /metrics: verdicts, fail-safes, queue drops, camera reconnects, PLC link."""

    def collect() -> list[Metric]:
        out = app.output_stage
        drops = tuple(((("queue", name),), float(n)) for name, n in app.queue_drops().items())
        sources = app.source_stats()
        reconnects = tuple(((("source", s.source_id),), float(s.reconnects)) for s in sources)
        frames = tuple(((("source", s.source_id),), float(s.frames)) for s in sources)
        metrics = [
            Metric.single(
                "inspector_verdicts_total",
                "counter",
                "Frames answered at the output.",
                out.delivered if out is not None else 0,
            ),
            Metric.single(
                "inspector_failsafe_rescued_total",
                "counter",
                "Fail-safe messages rescued to the output.",
                out.rescued if out is not None else 0,
            ),
            Metric("inspector_queue_dropped_total", "counter", "Items dropped by queue overflow.", drops),
            Metric("inspector_source_frames_total", "counter", "Frames read per source.", frames),
            Metric("inspector_source_reconnects_total", "counter", "Source reconnects.", reconnects),
        ]
        stats = getattr(app.components.output, "stats", None)
        if stats is not None:
            snapshot = stats()
            for key in PLC_METRICS:
                value = getattr(snapshot, key, None)
                if isinstance(value, int | float):
                    kind: Any = "gauge" if key == "pending" else "counter"
                    name = f"inspector_plc_{key}" + ("" if kind == "gauge" else "_total")
                    metrics.append(Metric.single(name, kind, f"PLC output: {key}.", value))
        return metrics

    return collect


def supervise(app: Any) -> Supervisor:
    """The Supervisor for ``app`` (built, not started), hooked into the line.

    The OOM guard goes into the inference stage; the archive (started here, stopped with
    the supervisor) becomes a sink of the output stage.
    """
    sup = _supervisor(app)
    if app.config.archive.enabled:
        archive = ArchiveWriter(app.config.archive)
        archive.start()
        app.output_stage.sinks.append(archive.submit)
        sup.add_component(archive.name, archive.health, archive.metrics)
        sup.archive = archive
    return sup


def _supervisor(app: Any) -> Supervisor:
    config, parts = app.config, app.components
    infer_stage = _inference_stage(app)
    line = LineView(
        stages=stage_views(app),
        engine_device=getattr(parts.engine, "device", None),
        inferences=(lambda: int(infer_stage.processed)) if infer_stage is not None else (lambda: 0),
        max_batch=config.runtime.batch_size,
        # degrade_imgsz works with an engine that offers reduce_imgsz() -> bool; otherwise it restarts
        reduce_imgsz=getattr(parts.engine, "reduce_imgsz", None),
        archive_dir=config.archive.dir if config.archive.enabled else None,
    )
    sup = Supervisor(config.watchdog, config.health, line)
    if infer_stage is not None:
        infer_stage.oom_guard = sup.oom_guard
    sup.add_component("camera", camera_probe(app))
    sup.add_component("plc", plc_probe(parts.output))
    sup.add_component("engine", engine_probe(app, infer_stage, sup.oom_guard))
    sup.metrics.add("line", line_metrics(app))
    sup.health.status_prefix = lambda: f"{app.output_stage.delivered if app.output_stage else 0} verdicts"
    healthy_now: list[bool | None] = [None]
    flags_now: list[dict[str, bool] | None] = [None]

    def heartbeat(snap: HealthSnapshot) -> None:
        healthy = sup.health.healthy(snap) and not app.intake_stop.is_set()
        if healthy != healthy_now[0]:
            healthy_now[0] = healthy
            parts.output.set_healthy(healthy)
        flags = plc_status_flags(snap, parts.engine)
        if flags != flags_now[0]:  # on change only: each one is a status-word write to the PLC
            flags_now[0] = flags
            parts.output.set_status(**flags)

    sup.add_listener(heartbeat)

    def restart(reason: RestartReason) -> None:
        app.request_restart(int(reason.exit_code), reason.message)

    sup.restart.on_request(restart)
    return sup
