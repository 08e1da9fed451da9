"""Reconnect backoff: doubling from reconnect_min_ms, capped at reconnect_max_ms, also for a hung PLC.

Timing assertions are one-sided or loose (medians, factors): a loaded machine only stretches the
gaps between attempts, and what is checked is the shape (growth, cap), not the speed.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import statistics
import time

from inspector.logging import get_logger
from inspector.messages import VerdictCode
from inspector.plc import PlcConfig
from inspector.plc.client_link import ModbusClientLink
from inspector.plc.connection import LinkConnection
from inspector.plc.records import PlcErrorCode
from inspector.plc.simulator import PlcSimulator
from inspector.plc.state import OutputState
from tests.support import wait_until
from tests.support.plc import frame, verdict


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reconnect_delay_doubles_and_is_capped() -> None:
    min_s, max_s = 0.02, 0.2
    config = PlcConfig(role="client", port=closed_port(), reconnect_min_ms=20, reconnect_max_ms=200)

    async def attempts_for(seconds: float) -> list[float]:
        sup = LinkConnection(ModbusClientLink(config), OutputState(), get_logger("test.plc"), min_s, max_s)
        stop = asyncio.Event()
        task = asyncio.ensure_future(sup.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert not sup.is_up
        return list(sup.attempts)

    times = asyncio.run(attempts_for(2.5))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 6, gaps
    # Growing: each of the first gaps is at least the doubled delay (a busy machine only adds to it).
    for gap, delay in zip(gaps[:4], (0.02, 0.04, 0.08, 0.16), strict=True):
        assert gap >= delay * 0.8, gaps
    assert gaps[3] > gaps[0]
    # Capped: once grown, the gaps stay around reconnect_max_ms instead of doubling on (400, 800 ms...).
    late = gaps[4:]
    assert late and all(g >= max_s * 0.8 for g in late), gaps
    assert statistics.median(late) < max_s * 1.5, gaps


def test_hung_plc_does_not_flap_the_link(sim: PlcSimulator, make_output) -> None:
    # Default timeouts and backoff: a PLC that accepts the socket but never answers.
    out = make_output(PlcConfig(role="client", port=sim.port))
    wait_until(lambda: out.link_up and out.stats().delivered == 0)
    sim.stop_answering(True)
    out.submit(frame(1, verdict(VerdictCode.REJECT, 2)))
    wait_until(lambda: out.stats().link_failures >= 1)
    t0, first = time.monotonic(), out.stats().reconnects
    time.sleep(1.5)
    mid = out.stats().reconnects
    time.sleep(1.5)
    last = out.stats().reconnects
    # Before the fix: ~14 link_down/link_up pairs in 3 s (reconnecting at once after each timeout).
    # Now each failed connection is followed by a growing delay: 250, 300, 400, 600, 700, 700 ms...
    assert last - first <= 8, (first, mid, last, time.monotonic() - t0)
    assert last - mid <= 3, (first, mid, last)  # at the cap: one per timeout + reconnect_max_ms
    sim.stop_answering(False)
    wait_until(lambda: out.stats().delivered == 1, timeout=10)
    # A request sent during the stall can still time out after the PLC answers again; that drops
    # the link once more while the queued result gets through, and the link reconnects.
    wait_until(lambda: out.link_up, timeout=10)


def test_reconnect_sets_link_down_code_until_the_next_result(sim: PlcSimulator, make_output) -> None:
    out = make_output(PlcConfig(role="client", port=sim.port, heartbeat={"period_ms": 20}))
    wait_until(lambda: out.link_up and sim.clients == 1)
    sim.drop_connections()
    wait_until(lambda: out.stats().reconnects >= 1)
    wait_until(lambda: sim.read_registers(2, 1)[0] == PlcErrorCode.LINK_DOWN)
    out.submit(frame(1, verdict(VerdictCode.PASS)))
    wait_until(lambda: sim.read_registers(2, 1)[0] == PlcErrorCode.NONE)
