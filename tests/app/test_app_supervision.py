"""The App with watchdogs and health: READY after warm-up, WATCHDOG pulses that stop on a stall,
injected OOM → fail-safe verdicts then recovery, controlled restarts, SIGTERM drain, archive, HTTP."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from inspector.app import App, LineParts, build_line
from inspector.app.signals import run_app
from inspector.messages import FailSafeCause, VerdictCode
from inspector.watchdog.restart import RestartExit
from tests.support import wait_until
from tests.support.notify import NotifyListener, notify_listener
from tests.support.oom import OomInjectingEngine
from tests.support.parts import BlobEngine, DefectRules, RecordingOutput, write_frames
from tests.support.parts import supervised_config as make_config
from tests.support.parts import supervised_line as line


def pulses_since(listener: NotifyListener, t: float) -> int:
    return listener.count("WATCHDOG=1", t)


def test_ready_then_pulses_stop_while_a_stage_stalls_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = BlobEngine()
    with notify_listener() as listener:
        monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
        app, out = line(tmp_path, engine)
        app.start()
        try:
            assert listener.wait_for("READY=1", timeout=5)
            t0 = time.monotonic()
            assert wait_until(lambda: pulses_since(listener, t0) >= 3, timeout=10)
            assert out.healthy is True
            engine.release.clear()  # the engine hangs: frames pile up before the inference stage
            assert wait_until(lambda: any("infer stalled" in m for m in listener.drain()), timeout=10)
            assert any(m.startswith("STATUS=") and " verdicts; failing: " in m for m in listener.drain())
            t_stall = time.monotonic()
            time.sleep(0.5)
            assert pulses_since(listener, t_stall) == 0
            assert out.healthy is False  # the PLC heartbeat stops with the systemd watchdog
            engine.release.set()
            t_back = time.monotonic()
            assert wait_until(lambda: pulses_since(listener, t_back) >= 2, timeout=10)
            assert wait_until(lambda: out.healthy is True, timeout=5)
        finally:
            engine.release.set()
            app.request_shutdown("test over")
            assert app.run_until_stopped()
        assert listener.wait_for("STOPPING=1", timeout=2)


def test_injected_oom_fails_parts_safe_then_recovers(tmp_path: Path) -> None:
    engine = OomInjectingEngine(BlobEngine())
    app, out = line(tmp_path, engine, watchdog={"oom": {"repeat_count": 100}})
    app.start()
    try:
        assert wait_until(lambda: len(out.messages) >= 3, timeout=10)
        engine.arm(times=2)  # the call and its retry fail: that frame is failed safe
        assert wait_until(lambda: engine.injected == 2, timeout=10)
        n = len(out.messages)
        assert wait_until(lambda: len(out.messages) >= n + 5, timeout=10)
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped()
    causes = [m.verdict.reasons[0].code for m in out.messages if m.verdict and m.verdict.failsafe]
    assert causes == [FailSafeCause.OUT_OF_MEMORY]
    after = out.messages[[m.verdict.failsafe for m in out.messages if m.verdict].index(True) + 1 :]
    assert after and all(m.verdict is not None and not m.verdict.failsafe for m in after)
    assert app.line.watch.engine_calls.failsafe_frames == 1
    assert app.exit_code is None


def test_repeated_oom_restarts_with_exit_76_and_loses_no_part(tmp_path: Path) -> None:
    engine = OomInjectingEngine(BlobEngine())
    app, out = line(tmp_path, engine, watchdog={"oom": {"repeat_count": 3, "on_repeat": "exit"}})
    engine.arm(times=10_000)
    code = run_app(app)
    assert code == RestartExit.CUDA_OOM == 76
    assert out.messages and all(m.verdict is not None for m in out.messages)
    assert {m.verdict.code for m in out.messages if m.verdict} == {VerdictCode.REJECT}
    seqs = [m.seq for m in out.messages]
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + len(seqs)))  # every captured frame answered


def test_memory_limit_restarts_between_parts_with_exit_75(tmp_path: Path) -> None:
    app, out = line(tmp_path, watchdog={"rss_max_mib": 1, "rss_interval_s": 1.0})
    code = run_app(app)
    assert code == RestartExit.MEMORY_LEAK == 75
    assert app.clean_stop  # drained, not cut: every frame in flight got its verdict
    assert len(out.messages) >= 1
    assert all(m.verdict is not None and not m.verdict.failsafe for m in out.messages)
    assert app.shutdown_reason.startswith("watchdog restart: host RSS")


def test_sigterm_drains_and_exits_0_with_notifications(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notify_listener() as listener:
        monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
        app, out = line(tmp_path)
        stop_sent = threading.Event()

        def send_sigterm() -> None:
            ready = listener.wait_for("READY=1", timeout=20)
            ready = ready and wait_until(lambda: len(out.messages) >= 5, 10)
            if not ready or signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                app.request_shutdown("test: no line to signal")  # fails the test, never the test run
                return
            os.kill(os.getpid(), signal.SIGTERM)
            stop_sent.set()

        sender = threading.Thread(target=send_sigterm, name="sigterm-sender")
        sender.start()
        try:
            code = run_app(app)
        finally:
            sender.join(30)
        assert stop_sent.is_set() and code == 0 and app.shutdown_reason == "SIGTERM"
        messages = listener.drain()
        assert any(m.startswith("STOPPING=1\nSTATUS=stopping: SIGTERM") for m in messages)
        assert all(m.verdict is not None for m in out.messages)


def test_archive_and_http_endpoints_on_the_running_line(tmp_path: Path) -> None:
    archive_dir = tmp_path / "archive"
    app, out = line(
        tmp_path,
        archive={"enabled": True, "dir": str(archive_dir), "min_free_mib": 0},
        health={"http": True, "http_port": 0},
    )
    app.start()
    try:
        assert app.line.watch.http is not None
        url = app.line.watch.http.url
        assert wait_until(lambda: len(list(archive_dir.rglob("*.json"))) >= 2, timeout=10)
        with urllib.request.urlopen(url + "/healthz", timeout=5) as reply:
            health = json.loads(reply.read())
        assert reply.status == 200 and health["state"] in ("ok", "degraded")
        names = {c["name"] for c in health["components"]}
        assert {"stages", "camera", "plc", "engine", "archive", "memory.host", "engine.memory"} <= names
        with urllib.request.urlopen(url + "/metrics", timeout=5) as reply:
            metrics = reply.read().decode()
        assert 'inspector_queue_depth{stage="infer"}' in metrics
        assert "inspector_archive_written_total" in metrics and "inspector_rss_bytes" in metrics
        assert 'inspector_source_frames_total{source="cam0"}' in metrics
        assert "inspector_verdicts_total" in metrics
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped()
    record = json.loads(sorted(archive_dir.rglob("*.json"))[0].read_text())
    assert record["verdict"] == "REJECT" and record["instances"]
    rejects = sum(1 for m in out.messages if m.verdict and m.verdict.code is VerdictCode.REJECT)
    archive = app.line.archive
    assert archive is not None and archive.stats().written + archive.stats().dropped_queue_full == rejects


def test_plc_link_down_degrades_health_and_recovers(tmp_path: Path) -> None:
    from inspector.plc import PlcOutput
    from inspector.plc.simulator import PlcSimulator

    with PlcSimulator() as sim:
        write_frames(tmp_path / "frames", 8)
        plc = {
            "role": "client",
            "mode": "free_run",
            "port": sim.port,
            "timeout_ms": 50,
            "retries": 0,
            "reconnect_min_ms": 20,
            "reconnect_max_ms": 200,
            # a wide pulse window: this is about the link; a loaded machine must not make parts
            # miss their free-run deadline (that degrades the PLC component too)
            "pulses": {"late_ms": 10000},
        }
        config = make_config(tmp_path / "frames", plc=plc)
        app = App(build_line(config, LineParts(BlobEngine(), DefectRules(), [PlcOutput(config.plc)])))
        app.start()
        try:
            assert app.line.watch is not None
            health = app.line.watch.health

            def plc_state() -> str:
                snap = health.last
                return next((c.state.label for c in snap.components if c.name == "plc"), "?") if snap else "?"

            assert wait_until(lambda: plc_state() == "ok", timeout=10)
            sim.stop_answering(True)
            assert wait_until(lambda: plc_state() == "degraded", timeout=10)
            assert health.last is not None and health.healthy(health.last)  # degraded keeps the heartbeat
            sim.stop_answering(False)
            assert wait_until(lambda: plc_state() == "ok", timeout=10)
        finally:
            app.request_shutdown("test over")
            assert app.run_until_stopped()


def test_stages_that_end_with_their_source_are_not_failing(tmp_path: Path) -> None:
    from inspector.app.watch_probes import stage_views

    write_frames(tmp_path / "frames", 3)
    config = make_config(tmp_path / "frames")
    source = config.sources[0].model_copy(update={"loop": False})
    app = App(
        build_line(
            config.model_copy(update={"sources": [source]}),
            LineParts(BlobEngine(), DefectRules(), [RecordingOutput()]),
        )
    )
    app.start()
    try:
        # the folder runs out: every stage ends at its end marker, before any stop is requested
        assert wait_until(lambda: not any(s.is_alive() for s in app.line.stages), timeout=20)
        assert not app.control.intake_stop.is_set()
        views = stage_views(app.line.stages, app.control.intake_stop)
        assert all(view.alive is not None and view.alive() for view in views)
        app.line.stages[-1].crashed = RuntimeError("bug")  # a stage that ended by crashing did die
        assert [view.alive() for view in views if view.alive is not None][-1] is False
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped()


def test_only_dropping_queues_count_towards_the_high_water_mark(tmp_path: Path) -> None:
    from inspector.app.watch_probes import stage_views

    write_frames(tmp_path / "frames", 2)
    runtime = {"preprocessed_queue": {"size": 6, "overflow": "drop_oldest"}}  # frames_queue: block, 4
    app = App(
        build_line(
            make_config(tmp_path / "frames", runtime=runtime),
            LineParts(BlobEngine(), DefectRules(), [RecordingOutput()]),
        )
    )
    app.start()
    try:
        capacities = {
            view.name: view.capacity for view in stage_views(app.line.stages, app.control.intake_stop)
        }
    finally:
        app.request_shutdown("test over")
        assert app.run_until_stopped()
    assert capacities["infer"] == 6  # a full drop_oldest queue loses frames: degraded
    assert capacities["preprocess"] == 0  # a full block queue is back-pressure, not loss
