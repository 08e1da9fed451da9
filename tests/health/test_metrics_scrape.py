"""A real scrape of /metrics from a running line (a PLC output on the simulator): promtool accepts
it, and every metric the Grafana dashboard queries is in it."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.plc import PlcOutput
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.parts import BlobEngine, DefectRules, write_frames
from tests.support.parts import supervised_config as make_config
from tests.support.plc import QUICK
from tests.support.tools import require_tool

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
# a metric name in PromQL: an identifier not followed by '(' (functions) and not a label or keyword
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NOT_METRICS = {"sum", "by", "le", "or", "and", "scalar", "rate", "increase", "max", "histogram_quantile"}


def scrape(tmp_path: Path, sim: PlcSimulator) -> str:
    """/metrics of a line (PLC output, reject archive) that has answered a few parts, some rejected."""
    write_frames(tmp_path / "frames", 8)
    plc = {**QUICK, "mode": "free_run", "port": sim.port}
    archive = {"enabled": True, "dir": str(tmp_path / "archive"), "min_free_mib": 0}
    health = {"http": True, "http_port": 0}
    config = make_config(tmp_path / "frames", plc=plc, health=health, archive=archive)
    output = PlcOutput(config.plc)
    app = App(build_line(config, LineParts(BlobEngine(), DefectRules(), [output])))
    app.start()
    try:
        assert wait_until(lambda: output.stats().delivered >= 6, timeout=20)
        assert app.line.watch is not None and app.line.watch.http is not None
        with urllib.request.urlopen(app.line.watch.http.url + "/metrics", timeout=5) as reply:
            return str(reply.read().decode())
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped()


def sample_names(text: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }


def test_a_real_scrape_passes_promtool_and_has_the_new_families(tmp_path: Path, sim: PlcSimulator) -> None:
    text = scrape(tmp_path, sim)
    names = sample_names(text)
    for name in (
        "inspector_e2e_latency_seconds_bucket",
        "inspector_stage_latency_seconds_bucket",
        "inspector_parts_total",
        "inspector_failsafes_total",
        "inspector_fps",
        "inspector_queue_depth",
        "inspector_plc_link_up",
        "inspector_plc_reconnects_total",
        "inspector_build_info",
        "inspector_rss_slope_bytes_per_second",
        "process_resident_memory_bytes",
    ):
        assert name in names, name
    assert re.search(r'inspector_parts_total\{camera="cam0",verdict="REJECT"\} [1-9]', text)
    assert 'inspector_failsafes_total{code="900",origin="plc"}' in text
    require_tool("promtool")
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check.stdout + check.stderr


def prometheus_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel["targets"]
        if target["datasource"]["type"] == "prometheus"
    ]


def queried_metrics(expr: str) -> set[str]:
    # labels inside {...} and 'by (...)' lists, and [range] durations, are not metric names
    bare = re.sub(r"\{[^}]*\}|by \([^)]*\)|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    return {m.group() for m in _IDENT.finditer(bare) if m.group() not in _NOT_METRICS}


def test_every_dashboard_query_reads_metrics_of_a_real_scrape(tmp_path: Path, sim: PlcSimulator) -> None:
    queries = prometheus_queries()
    assert len(queries) >= 12 and any("inspector_failsafes_total" in q for q in queries)
    names = sample_names(scrape(tmp_path, sim))
    # the GPU's figures exist only where the engine runs on CUDA
    gpu = {"inspector_gpu_memory_reserved_bytes", "inspector_gpu_memory_budget_bytes"}
    missing = {q: sorted(queried_metrics(q) - names - gpu) for q in queries}
    assert not {q: m for q, m in missing.items() if m}, missing
    assert all(queried_metrics(q) for q in queries)
