"""The ``inspector plc-sim --fault`` schedule, played against a live PlcOutput (in process)."""

from __future__ import annotations

import argparse
import threading
import time

from inspector.cli.plc_sim import _events, _simulator, parse_fault, play, register
from inspector.logging import get_logger
from inspector.messages import VerdictCode
from inspector.plc import PlcConfig
from tests.plc.test_plc_faults import unique_by_seq
from tests.support import wait_until
from tests.support.plc import frame, verdict


def test_fault_events_are_ordered_with_their_ends() -> None:
    faults = [parse_fault(t) for t in ("kill@3+1", "drop@1", "stall@0.5+2", "exception@2+0.5:4")]
    events = [(at, f.kind, on) for at, f, on in _events(faults)]
    assert events == [
        (0.5, "stall", True),
        (1.0, "drop", True),  # a drop has no end
        (2.0, "exception", True),
        (2.5, "stall", False),
        (2.5, "exception", False),
        (3.0, "kill", True),
        (4.0, "kill", False),
    ]
    assert faults[3].code == 4 and faults[0].code == 6


def plc_sim_args(*argv: str) -> argparse.Namespace:
    """The command line as ``inspector plc-sim`` parses it (without importing every other command)."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(), "plc-sim")
    return parser.parse_args(["plc-sim", *argv])


def test_fault_schedule_against_a_live_output(make_output) -> None:
    args = plc_sim_args(
        "--port", "0",
        "--quiet",
        "--heartbeat-ms", "50",
        "--fault", "drop@0.3",
        "--fault", "stall@0.6+0.5",
        "--fault", "exception@1.4+0.4:6",
        "--fault", "kill@2.1+0.4",
        "--duration", "3.2",
    )  # fmt: skip
    sim = _simulator(args)
    sim.start()
    stop = threading.Event()
    player = threading.Thread(
        target=play, args=(sim, args, stop, get_logger("test.plc_sim")), name="test-plc-sim-faults"
    )
    try:
        out = make_output(PlcConfig(role="client", port=sim.port, heartbeat={"plc_timeout_ms": 1000}))
        wait_until(lambda: out.link_up)
        player.start()
        part = 0
        while player.is_alive() and part < 400:
            part += 1
            out.submit(frame(part, verdict(VerdictCode.PASS)))
            time.sleep(0.02)
        player.join(10)
        assert not player.is_alive()
        assert sim.running  # the kill ended with a restart on the same port
        wait_until(lambda: out.stats().pending == 0, timeout=10)
        stats = out.stats()
        assert stats.link_failures >= 3  # drop, stall, kill
        assert stats.reconnects >= 3
        assert stats.exception_replies >= 1  # code 6 (busy): retried, not a link failure
        assert stats.dropped == 0 and stats.delivered == part
        assert [r.part_id for r in unique_by_seq(sim.results())] == list(range(1, part + 1))
        wait_until(lambda: out.stats().plc_alive is True)  # the restarted PLC's heartbeat is seen
    finally:
        stop.set()
        if player.is_alive():
            player.join(10)
        sim.stop()
