"""The vision state the OPC UA server shows, from the line's real health service and queues."""

from __future__ import annotations

import threading

import pytest

from inspector.app.config import OverflowPolicy
from inspector.app.opcua_output import build_opcua, line_state
from inspector.app.queues import StageQueue
from inspector.app.stage_thread import Item
from inspector.config.settings import InspectorConfig
from inspector.health.config import HealthConfig
from inspector.health.service import HealthService
from inspector.health.state import HealthMonitor, HealthState
from inspector.opcua import LineState, OpcUaServer, VisionState

SOURCE = {"kind": "folder", "id": "cam0", "path": "/nonexistent"}


def health(component: HealthState) -> HealthService:
    monitor = HealthMonitor()
    set_state = monitor.add_fixed("camera")
    set_state(component, "cam0 lost" if component is HealthState.FAILING else "")
    return HealthService(HealthConfig(notify=False), monitor)


@pytest.mark.parametrize("mode", ["free_run", "triggered"])
def test_the_state_follows_start_health_queue_and_stop(mode: str) -> None:
    plc = {"mode": mode, "role": "client" if mode == "triggered" else "off"}
    config = InspectorConfig(sources=[SOURCE], plc=plc)
    intake_stop, running = threading.Event(), [False]
    service = health(HealthState.OK)
    queue = StageQueue[Item]("frames", 4, OverflowPolicy.BLOCK)
    queues = {"frames": queue}

    def state() -> VisionState:
        return line_state(config, lambda: running[0], intake_stop, service, queues).state

    assert state() is VisionState.PREOPERATIONAL  # not running yet
    running[0] = True
    assert state() is VisionState.PREOPERATIONAL  # running, not reported ready
    service.ready()
    service.tick()
    executing = VisionState.CONTINUOUS_EXECUTION if mode == "free_run" else VisionState.READY
    assert state() is executing
    if mode == "triggered":
        queue.put(object())  # type: ignore[arg-type]
        assert state() is VisionState.SINGLE_EXECUTION
    failing = health(HealthState.FAILING)
    failing.ready()
    failing.tick()
    assert line_state(config, lambda: True, intake_stop, failing, queues).state is VisionState.ERROR
    assert "cam0 lost" in line_state(config, lambda: True, intake_stop, failing, queues).health
    intake_stop.set()
    assert state() is VisionState.HALTED


def test_the_server_is_built_only_when_enabled() -> None:
    def ready() -> LineState:
        return LineState(VisionState.READY)

    assert build_opcua(InspectorConfig(sources=[SOURCE]), None, ready) == []
    enabled = InspectorConfig(sources=[SOURCE], opcua={"enabled": True})
    [server] = build_opcua(enabled, None, ready)
    assert isinstance(server, OpcUaServer) and server.cameras == ("cam0",)
