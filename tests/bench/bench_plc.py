"""Latency from verdict to PLC: result block written, and reject pulse started, on loopback.

    PYTHONPATH=. python tests/bench/bench_plc.py [--parts 1000] [--spacing-ms 4]

Both times are taken by the PLC simulator when it processes the write (server side,
in a process of its own like a real PLC, same CLOCK_MONOTONIC), against
``time.monotonic()`` just before ``PlcOutput.submit`` in the pipeline thread.
Baseline: a bare pymodbus async client doing the same two requests (FC16 block, FC5
coil) in a loop of its own, timed the same way: the ratio is what the output stage
(thread hop, encoding, scheduling) adds on top of the Modbus round trips themselves.

Recovery (``--recovery-rounds``): the PLC process kills its server, parts arrive
meanwhile, it serves again on the same port after an outage; the figure is from the
server accepting again to its receipt of the last held result block (server clock,
default backoff), i.e. what the link adds after the PLC is back.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from inspector.messages import FrameMsg, Reason, Verdict, VerdictCode
from inspector.plc import PlcConfig, PlcCounters, PlcOutput
from inspector.plc.records import ResultFlag, ResultRecord, encode_result
from inspector.plc.simulator import PlcSimulator

IMAGE = np.zeros((4, 4, 3), np.uint8)
RESULT, COIL = 10, 0
Write = tuple[float, int, int, tuple[int, ...]]  # t, function code, address, values


def serve(conn: Any) -> None:
    """The simulated PLC's process: serve, report the port, then answer commands until "exit"."""
    sim = PlcSimulator()
    conn.send(sim.start())
    while (command := conn.recv()) != "exit":
        if command == "dump":
            conn.send([(w.t, w.function_code, w.address, w.values) for w in sim.writes()])
        elif command == "kill":
            sim.stop()
            conn.send(None)
        elif command == "start":
            sim.start()
            conn.send(sim.listening_since)  # monotonic, the same clock as the bench process
    sim.stop()


class RemotePlc:
    """A PlcSimulator in a separate process (no GIL shared with the stage under test)."""

    def __enter__(self) -> RemotePlc:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child,), daemon=True)
        self._proc.start()
        self.port = int(self._conn.recv())
        return self

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        if not self._conn.poll(10):
            raise RuntimeError(f"simulated PLC did not answer {command!r}")
        return self._conn.recv()

    def writes(self) -> list[Write]:
        return list(self._ask("dump"))

    def kill(self) -> None:
        self._ask("kill")

    def restart(self) -> float:
        """Serve again on the same port; returns when it began accepting (monotonic)."""
        return float(self._ask("start"))

    def __exit__(self, *exc: object) -> None:
        self._conn.send("exit")
        self._proc.join(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1)))]


def summary(name: str, values_ms: list[float]) -> dict[str, float]:
    med, p99 = statistics.median(values_ms), pct(values_ms, 99)
    print(f"  {name:<28} median {med:7.3f} ms   p99 {p99:7.3f} ms   max {max(values_ms):7.3f} ms")
    return {"median": med, "p99": p99}


def run_stage(sim: RemotePlc, parts: int, spacing_s: float) -> dict[int, float]:
    config = PlcConfig(role="client", port=sim.port, pulses={"reject_ms": 1})
    out = PlcOutput(config)
    out.start()
    t_submit: dict[int, float] = {}
    verdict = Verdict(VerdictCode.REJECT, reasons=(Reason("bench", 1),), measurements=(1.0, 2.0))
    try:
        deadline = time.monotonic() + 5
        while not out.link_up and time.monotonic() < deadline:
            time.sleep(0.01)
        for part in range(1, parts + 1):
            msg = FrameMsg(part, "cam0", time.monotonic(), IMAGE, part_id=part, verdict=verdict)
            t_submit[part] = time.monotonic()
            out.submit(msg)
            time.sleep(spacing_s)
        deadline = time.monotonic() + 10
        while out.stats().reject_pulses < parts and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        out.stop(3.0)
    return t_submit


def match(writes: list[Write], t_submit: dict[int, float]) -> tuple[list[float], list[float]]:
    """Pair each part with its block write and the first coil-on write after it."""
    block_ms, pulse_ms = [], []
    current: int | None = None
    for t, fc, address, values in writes:
        if fc == 16 and address == RESULT:
            current = (values[1] << 16) | values[2]
            if current in t_submit:
                block_ms.append((t - t_submit[current]) * 1000)
        elif fc == 5 and address == COIL and values == (1,) and current in t_submit:
            pulse_ms.append((t - t_submit[current]) * 1000)
            current = None
    return block_ms, pulse_ms


async def baseline_async(port: int, parts: int, spacing_s: float) -> dict[int, float]:
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0, reconnect_delay=0)
    await client.connect()
    t0: dict[int, float] = {}
    verdict = Verdict(VerdictCode.REJECT, reasons=(Reason("bench", 1),), measurements=(1.0, 2.0))
    try:
        for part in range(1, parts + 1):
            t0[part] = time.monotonic()
            block = encode_result(
                ResultRecord(part, part, verdict, t0[part], 0.0), PlcCounters(), ResultFlag(0), 4
            )
            await client.write_registers(RESULT, block, device_id=1)
            await client.write_coil(COIL, True, device_id=1)
            await client.write_coil(COIL, False, device_id=1)
            await asyncio.sleep(spacing_s)
    finally:
        client.close()
    return t0


def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"condition not met within {timeout} s")
        time.sleep(0.002)


def first_block_writes(writes: list[Write]) -> dict[int, float]:
    seen: dict[int, float] = {}
    for t, fc, address, values in writes:
        if fc == 16 and address == RESULT:
            seen.setdefault((values[1] << 16) | values[2], t)
    return seen


def run_recovery(sim: RemotePlc, outages_s: list[float], held: int) -> list[float]:
    """Per outage: ms from the PLC accepting again to its receipt of the last held result."""
    out = PlcOutput(PlcConfig(role="client", port=sim.port))  # default timeouts and backoff
    out.start()
    verdict = Verdict(VerdictCode.PASS, measurements=(1.0,))
    figures: list[float] = []
    try:
        wait_for(lambda: out.link_up, 5)
        for round_, outage in enumerate(outages_s, start=1):
            sim.kill()
            parts = [round_ * 1000 + i for i in range(held)]
            for part in parts:
                out.submit(FrameMsg(part, "cam0", time.monotonic(), IMAGE, part_id=part, verdict=verdict))
                time.sleep(0.005)
            wait_for(lambda: not out.link_up, 5)
            time.sleep(outage)
            t_back = sim.restart()
            wait_for(lambda: out.stats().pending == 0, 10)
            firsts = first_block_writes(sim.writes())
            figures.append((max(firsts[p] for p in parts) - t_back) * 1000)
            print(f"  outage {outage:5.2f} s: held results in {figures[-1]:6.1f} ms after the PLC's return")
    finally:
        out.stop(3.0)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=1000)
    parser.add_argument("--spacing-ms", type=float, default=4.0)
    parser.add_argument("--recovery-rounds", type=int, default=6, help="PLC kill/restart rounds (0: skip)")
    parser.add_argument("--held", type=int, default=10, help="results arriving while the PLC is down")
    args = parser.parse_args()
    import pymodbus

    cpu = platform.processor() or platform.machine()
    print(
        f"bench_plc: {args.parts} parts, {args.spacing_ms} ms apart, loopback; python "
        f"{platform.python_version()}, pymodbus {pymodbus.__version__}, {cpu}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    spacing = args.spacing_ms / 1000.0
    with RemotePlc() as sim:
        t0 = asyncio.run(baseline_async(sim.port, args.parts, spacing))
        base_block, base_pulse = match(sim.writes(), t0)
    with RemotePlc() as sim:
        t_submit = run_stage(sim, args.parts, spacing)
        block_ms, pulse_ms = match(sim.writes(), t_submit)
    print("baseline (bare pymodbus async client, same requests):")
    b_block = summary("block written", base_block)
    b_pulse = summary("block + pulse on written", base_pulse)
    print("PlcOutput.submit -> PLC:")
    s_block = summary("block written", block_ms)
    s_pulse = summary("block + pulse on written", pulse_ms)
    print(
        f"ratio stage/baseline (block + pulse): median {s_pulse['median'] / b_pulse['median']:.2f}x, "
        f"p99 {s_pulse['p99'] / b_pulse['p99']:.2f}x; added p99 "
        f"{s_pulse['p99'] - b_pulse['p99']:+.3f} ms (block alone: {s_block['p99'] - b_block['p99']:+.3f} ms)"
    )
    if len(pulse_ms) != args.parts:
        print(f"WARNING: matched {len(pulse_ms)} pulses of {args.parts} parts", file=sys.stderr)
    if args.recovery_rounds > 0:
        # The PLC returns at a random point of the reconnect delay (0 .. reconnect_max_ms).
        rng = random.Random(6)
        outages = [(0.2, 0.5, 1.0, 2.0)[i % 4] + rng.uniform(0, 0.5) for i in range(args.recovery_rounds)]
        print(f"recovery after a PLC kill and restart ({args.held} results held, default backoff):")
        with RemotePlc() as sim:
            figures = run_recovery(sim, outages, args.held)
        print(
            f"  recovery: median {statistics.median(figures):.1f} ms, max {max(figures):.1f} ms "
            f"(target <= 1000 ms; reconnect_max_ms = {PlcConfig().reconnect_max_ms})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
