"""The OPC UA server wired to the line: its state machine follows the line's real state and
health, its recipe methods go to the line's recipe control. Built only with ``opcua.enabled``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from inspector.app.interfaces import Output, RecipeControl
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item
from inspector.config.settings import InspectorConfig
from inspector.health.metrics import Metric
from inspector.health.service import HealthService
from inspector.opcua import LineState, OpcUaServer, VisionState
from inspector.plc.config import PlcMode


def build_opcua(
    config: InspectorConfig, recipes: RecipeControl | None, state: Callable[[], LineState]
) -> list[Output]:
    """The OPC UA server as a verdict output, or nothing when ``opcua.enabled`` is off."""
    if not config.opcua.enabled:
        return []
    cameras = [source.id for source in config.sources]
    return [OpcUaServer(config.opcua, state, recipes, cameras)]


def opcua_metrics(outputs: list[Output]) -> Callable[[], list[Metric]]:
    """The OPC UA server's counters for /metrics: results published, dropped, queued, failed."""

    def collect() -> list[Metric]:
        servers = [o for o in outputs if isinstance(o, OpcUaServer)]
        if not servers:
            return []
        stats = servers[0].stats()
        return [
            Metric.single(
                "inspector_opcua_results_total", "counter", "Results published over OPC UA.", stats.published
            ),
            Metric.single(
                "inspector_opcua_dropped_total",
                "counter",
                "Results dropped: the OPC UA queue was full.",
                stats.dropped,
            ),
            Metric.single(
                "inspector_opcua_errors_total", "counter", "Results that failed to publish.", stats.errors
            ),
            Metric.single(
                "inspector_opcua_queued", "gauge", "Results waiting for the OPC UA server.", stats.queued
            ),
        ]

    return collect


def line_state(
    config: InspectorConfig,
    running: Callable[[], bool],
    intake_stop: threading.Event,
    health: HealthService,
    queues: Mapping[str, StageQueue[Item]],
) -> LineState:
    """The vision state now: Halted once the intake stopped (the line drains or stopped);
    Preoperational until the line runs and reported ready; Error while health fails; else
    Operational: free run is ContinuousExecution, a triggered line SingleExecution while a part
    is queued in the line and Ready when none is."""
    snap = health.last
    summary = snap.summary() if snap is not None else "starting"
    if intake_stop.is_set():
        return LineState(VisionState.HALTED, summary)
    if not running() or not health.is_ready:
        return LineState(VisionState.PREOPERATIONAL, summary)
    if snap is not None and not health.healthy(snap):
        return LineState(VisionState.ERROR, summary)
    if config.plc.mode is PlcMode.FREE_RUN:
        return LineState(VisionState.CONTINUOUS_EXECUTION, summary)
    busy = any(queue.depth() for queue in queues.values())
    return LineState(VisionState.SINGLE_EXECUTION if busy else VisionState.READY, summary)
