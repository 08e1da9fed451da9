"""sd_notify over a real unix datagram socket, and the health loop's READY / WATCHDOG / STATUS."""

from __future__ import annotations

import os
import socket
import time

import pytest

from inspector.app.watch import LineView, LineWatch
from inspector.health.config import HealthConfig
from inspector.health.sdnotify import (
    STATUS_MAX_CHARS,
    SdNotifier,
    sd_notify,
    status_text,
    watchdog_interval_s,
)
from inspector.health.service import HealthService
from inspector.health.state import HealthMonitor, HealthState
from inspector.watchdog.config import WatchdogConfig
from inspector.watchdog.liveness import StageView
from tests.support import wait_until
from tests.support.notify import Counter, notify_listener


def test_sd_notify_delivers_to_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    with notify_listener() as listener:
        monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
        assert sd_notify("READY=1\nSTATUS=hello")
        assert listener.wait_for("READY=1\nSTATUS=hello", timeout=2)


def test_sd_notify_abstract_namespace() -> None:
    name = f"inspector-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert sd_notify("WATCHDOG=1", "@" + name)
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_sd_notify_without_socket_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sd_notify("READY=1")
    assert not sd_notify("READY=1", "/nonexistent/dir/notify.sock")
    assert not sd_notify("READY=1", "relative/path")
    assert not SdNotifier().ready("x")


def test_watchdog_interval_from_environment() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000"}) == 3.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}) == 3.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


def test_ready_then_pulses_that_stop_when_a_stage_stalls(monkeypatch: pytest.MonkeyPatch) -> None:
    processed, queued = Counter(), Counter()
    stalled = [False]
    stage = StageView("engine", processed, lambda: queued.value, capacity=8)
    watchdog = WatchdogConfig(liveness_interval_s=0.05, stall_after_s=0.4, rss_interval_s=5)
    health = HealthConfig(interval_s=0.05, watchdog_pulse_s=0.1)
    with notify_listener() as listener:
        monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
        sup = LineWatch(watchdog, health, LineView(stages=[stage]))
        sup.start()
        try:
            queued.value = 2
            deadline = time.monotonic() + 10

            def working() -> bool:
                if not stalled[0]:
                    processed.inc()
                return time.monotonic() > deadline

            sup.ready()
            assert listener.wait_for("READY=1", timeout=2)
            t_ready = time.monotonic()
            assert wait_until(lambda: working() or listener.count("WATCHDOG=1", t_ready) >= 3, timeout=5)
            assert sup.health.last is not None and sup.health.last.state.label == "ok"
            stalled[0] = True
            assert wait_until(lambda: "stalled" in "".join(listener.drain()), timeout=5)
            t_stalled = time.monotonic()
            time.sleep(0.6)
            assert listener.count("WATCHDOG=1", t_stalled) == 0
            assert any("STATUS=failing: stages failing (engine stalled" in m for m in listener.drain())
            stalled[0] = False
            assert wait_until(lambda: working() or listener.count("WATCHDOG=1", t_stalled) >= 2, timeout=5)
        finally:
            sup.stop("test over")
        assert listener.wait_for("STOPPING=1", timeout=2)


def test_status_is_one_capped_line_whatever_the_component_details_hold() -> None:
    """A probe error with a newline must not become a second assignment (e.g. a forged READY=1)."""

    def broken_probe() -> object:
        raise OSError("archive write failed:\nREADY=1\r\n\tdisk gone")

    monitor = HealthMonitor()
    monitor.add_probe("archive", broken_probe)  # type: ignore[arg-type]
    set_plc = monitor.add_fixed("plc")
    set_plc(HealthState.DEGRADED, "x" * 500)
    with notify_listener() as listener:
        service = HealthService(HealthConfig(), monitor, SdNotifier(socket_path=str(listener.path)))
        service.ready()
        set_plc(HealthState.DEGRADED, "link lost\nWATCHDOG=1")
        service.tick()
        service.stopping("signal\nSTOPPING=1")
        assert wait_until(lambda: len(listener.drain()) >= 3, timeout=5)
        messages = listener.drain()
    for message in messages:
        lines = message.split("\n")
        status = [line for line in lines if line.startswith("STATUS=")]
        assert len(status) == 1 and all("=" in line and line.split("=")[0].isupper() for line in lines)
        assert len(status[0]) <= len("STATUS=") + STATUS_MAX_CHARS
    assert [m.split("\n").count("READY=1") for m in messages] == [1, 0, 0]
    assert "WATCHDOG=1" not in messages[1].split("\n") and "link lost WATCHDOG=1" in messages[1]
    assert "archive write failed: READY=1 disk gone" in messages[0]
    assert messages[0].split("STATUS=")[1].split("\n")[0].endswith("...")
    assert status_text("a\n\nb\x00c  d") == "a b c d"
