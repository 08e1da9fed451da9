"""Health aggregation, the Prometheus text format, and /healthz + /metrics on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from inspector.errors import ConfigError
from inspector.health.http import HealthHttpServer
from inspector.health.metrics import Metric, MetricsRegistry, render
from inspector.health.state import ComponentHealth, HealthMonitor, HealthState


def test_worst_component_decides_and_summary_names_it() -> None:
    monitor = HealthMonitor()
    monitor.add_probe("engine", lambda: ComponentHealth("engine", HealthState.OK, "cuda:0"))
    set_camera = monitor.add_fixed("camera")
    set_plc = monitor.add_fixed("plc")
    assert monitor.snapshot().state is HealthState.OK
    assert monitor.snapshot().summary() == "ok: 3 components ok"
    set_plc(HealthState.DEGRADED, "link down, retrying")
    set_camera(HealthState.FAILING, "cam0 lost")
    snap = monitor.snapshot()
    assert snap.state is HealthState.FAILING
    assert snap.summary() == "failing: camera failing (cam0 lost); plc degraded (link down, retrying)"
    assert snap.healthy(degraded_is_healthy=True) is False
    set_camera(HealthState.OK)
    assert monitor.snapshot().healthy(True) and not monitor.snapshot().healthy(False)


def test_a_probe_that_raises_reads_as_failing() -> None:
    monitor = HealthMonitor()

    def broken() -> ComponentHealth:
        raise RuntimeError("boom")

    monitor.add_probe("engine", broken)
    snap = monitor.snapshot()
    assert snap.state is HealthState.FAILING
    assert "probe error: boom" in snap.summary()


def test_prometheus_text_format() -> None:
    text = render(
        [
            Metric.single("inspector_frames_total", "counter", "Frames.", 12),
            Metric("inspector_queue_depth", "gauge", "Depth.", (((("stage", 'en"g'),), 3.5),)),
            Metric.single("inspector_queue_depth", "gauge", "Depth.", 1, stage="rules"),
            Metric.single("bad name-1", "gauge", "x", float("nan")),
        ]
    )
    assert text == (
        "# HELP inspector_frames_total Frames.\n# TYPE inspector_frames_total counter\n"
        "inspector_frames_total 12.0\n"
        "# HELP inspector_queue_depth Depth.\n# TYPE inspector_queue_depth gauge\n"
        'inspector_queue_depth{stage="en\\"g"} 3.5\ninspector_queue_depth{stage="rules"} 1.0\n'
        "# HELP bad_name_1 x\n# TYPE bad_name_1 gauge\nbad_name_1 NaN\n"
    )


def test_registry_skips_a_broken_collector() -> None:
    registry = MetricsRegistry(process=False)
    registry.add("good", lambda: [Metric.single("a", "gauge", "a", 1)])

    def broken() -> list[Metric]:
        raise ValueError("nope")

    registry.add("bad", broken)
    assert registry.render() == "# HELP a a\n# TYPE a gauge\na 1.0\n"


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_http_endpoints_on_localhost() -> None:
    monitor = HealthMonitor()
    set_engine = monitor.add_fixed("engine")
    registry = MetricsRegistry()
    registry.add("x", lambda: [Metric.single("inspector_up", "gauge", "Up.", 1)])
    server = HealthHttpServer("127.0.0.1", 0, monitor.snapshot, registry.render)
    server.start()
    try:
        assert server.port > 0
        status, ctype, body = get(server.url + "/healthz")
        assert (status, ctype) == (200, "application/json")
        assert json.loads(body)["state"] == "ok"
        set_engine(HealthState.DEGRADED, "batch reduced")
        assert get(server.url + "/healthz")[0] == 200
        set_engine(HealthState.FAILING, "model error")
        status, _, body = get(server.url + "/healthz")
        assert status == 503
        assert json.loads(body)["components"] == [
            {"name": "engine", "state": "failing", "detail": "model error"}
        ]
        status, ctype, body = get(server.url + "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert "inspector_up 1.0\n" in body and "process_cpu_seconds_total" in body
        assert get(server.url + "/nope")[0] == 404
    finally:
        server.stop()


def test_http_port_in_use_is_a_config_error() -> None:
    monitor = HealthMonitor()
    first = HealthHttpServer("127.0.0.1", 0, monitor.snapshot, lambda: "")
    first.start()
    try:
        second = HealthHttpServer("127.0.0.1", first.port, monitor.snapshot, lambda: "")
        with pytest.raises(ConfigError, match=r"health\.http_host/http_port"):
            second.start()
    finally:
        first.stop()
