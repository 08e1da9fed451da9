"""Faults on a real loopback server: PLC killed and restarted, exception replies, stalls, drops.

Nothing may be lost or attributed to the wrong part: every part's result arrives
(buffered then delivered) or is failed safe with a reason code.
"""

from __future__ import annotations

import threading
import time

from inspector.messages import VerdictCode
from inspector.plc import PlcConfig
from inspector.plc.records import DecodedResult, ResultFlag
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict


def code_for(part: int) -> VerdictCode:
    return VerdictCode.REJECT if part % 3 == 0 else VerdictCode.PASS


def unique_by_seq(results: list[DecodedResult]) -> list[DecodedResult]:
    """A block re-written after a lost reply repeats its sequence number; keep the first, check equal."""
    seen: dict[int, DecodedResult] = {}
    for result in results:
        if result.seq in seen:
            assert seen[result.seq].part_id == result.part_id, "one sequence number, two parts"
            continue
        seen[result.seq] = result
    return list(seen.values())


RECOVERY_S = 1.0  # the target: buffered results delivered within 1 s of the PLC's return


def first_writes(sim: PlcSimulator) -> dict[int, float]:
    """Part id -> when the simulated PLC first received its result block (server clock)."""
    regs, seen = sim.registers, {}
    for w in sim.writes():
        if w.function_code == 16 and w.address == regs.result and len(w.values) == regs.result_len:
            seen.setdefault((w.values[1] << 16) | w.values[2], w.t)
    return seen


def test_plc_killed_and_restarted_free_run(sim: PlcSimulator, make_output) -> None:
    # Default backoff and timeouts: the recovery figure is the one a line gets out of the box.
    out = make_output(PlcConfig(role="client", port=sim.port, pulses={"reject_ms": 5}))
    wait_until(lambda: out.link_up)
    for part in range(1, 6):
        out.submit(frame(part, verdict(code_for(part), 9 if code_for(part) is VerdictCode.REJECT else 0)))
        time.sleep(0.02)
    wait_until(lambda: len(sim.results()) == 5)
    sim.stop()  # the PLC dies
    for part in range(6, 12):
        out.submit(frame(part, verdict(code_for(part), 9 if code_for(part) is VerdictCode.REJECT else 0)))
        time.sleep(0.02)
    wait_until(lambda: not out.link_up)
    assert out.stats().pending > 0
    time.sleep(0.3)  # long enough for the reconnect backoff to grow
    sim.start()  # the PLC returns on the same port, with fresh memory
    wait_until(lambda: out.stats().pending == 0 and len(unique_by_seq(sim.results())) == 11)
    assert sim.listening_since is not None
    recovery_s = max(first_writes(sim)[p] for p in range(6, 12)) - sim.listening_since
    print(f"buffered results delivered {recovery_s * 1000:.0f} ms after the PLC accepted again")
    assert recovery_s <= RECOVERY_S
    results = unique_by_seq(sim.results())
    # Nothing lost, nothing attributed to another part, in order.
    assert [r.part_id for r in results] == list(range(1, 12))
    assert all(r.verdict is code_for(r.part_id) for r in results)
    assert out.stats().dropped == 0
    # A rejected part got its pulse, or its block says late (the PLC knows no pulse came), or the
    # pulse could not be switched on in its window (error 924): never silently passed.
    rejects = [r for r in results if r.verdict is VerdictCode.REJECT]
    late = [r for r in rejects if ResultFlag.LATE in r.flags]
    wait_until(lambda: not sim.coil_state(0))
    stats = out.stats()
    assert stats.reject_pulses + stats.pulse_failures + len(late) == len(rejects)
    assert stats.reconnects >= 1 and out.link_up


def runtime_loop(out, stop: threading.Event, seen: list[int]) -> None:
    """What the runtime does in triggered mode: capture per trigger, submit a verdict."""
    while not stop.is_set():
        trig = out.next_trigger(0.05)
        if trig is not None:
            seen.append(trig.part_id)
            out.submit(frame(trig.part_id, verdict(code_for(trig.part_id)), t_capture=trig.t_trigger))


def test_plc_killed_and_restarted_triggered(sim: PlcSimulator, make_output) -> None:
    out = make_output(
        PlcConfig(role="client", port=sim.port, mode="triggered", handshake={"inspect_timeout_ms": 500})
    )
    stop, seen = threading.Event(), []
    worker = threading.Thread(target=runtime_loop, args=(out, stop, seen), name="test-runtime")
    worker.start()
    try:
        sim.play_handshake(0.02, first_part=1, count=6)
        wait_until(lambda: len(sim.cycles()) >= 3)
        sim.set_ack(False)  # the next result is read but not acked: it is still held when the PLC dies
        wait_until(lambda: len(sim.cycles()) >= 4)
        sim.stop()  # killed mid-handshake
        time.sleep(0.3)
        sim.start()
        sim.play_handshake(0.02, first_part=100, count=6)
        wait_until(
            lambda: sum(c.triggered_part is not None and c.triggered_part >= 100 for c in sim.cycles()) == 6
        )
        wait_until(lambda: out.stats().pending == 0 and not out.stats().dropped)
    finally:
        stop.set()
        worker.join(5)
    assert sim.listening_since is not None
    back = sim.listening_since
    cycles = sim.cycles()
    # Never misattributed: a result read for a trigger carries that trigger's part id.
    for c in cycles:
        if c.triggered_part is not None:
            assert c.result.part_id == c.triggered_part
    # Every part the runtime inspected reached the PLC (once per sequence number) with its verdict,
    # or failed safe with a reason code; none is missing.
    delivered = {r.part_id: r for r in unique_by_seq([c.result for c in cycles])}
    missing = [p for p in seen if p not in delivered]
    assert missing == []
    for part in seen:
        r = delivered[part]
        assert r.verdict is code_for(part) or (ResultFlag.FAILSAFE in r.flags and r.first_code >= 900)
    # Results of the first run still held at the restart were read by the PLC within 1 s of its return.
    held = [c.t_result for c in cycles if c.t_result > back and c.result.part_id < 100]
    assert held, "the unacked result was not posted again after the restart"
    print(f"held results read {(max(held) - back) * 1000:.0f} ms after the PLC accepted again")
    assert max(held) - back <= RECOVERY_S


def test_exception_replies_hold_results_until_the_plc_accepts(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port))
    wait_until(lambda: out.link_up)
    sim.exception_replies(2)  # illegal data address
    for part in (1, 2, 3):
        out.submit(frame(part, verdict(VerdictCode.PASS)))
    wait_until(lambda: out.stats().exception_replies >= 2)
    assert out.link_up and out.stats().pending == 3 and sim.results() == []
    assert "exception code 2" in out.stats().last_error
    sim.exception_replies(None)
    wait_until(lambda: len(sim.results()) == 3)
    assert [r.part_id for r in unique_by_seq(sim.results())] == [1, 2, 3]


def test_stalled_plc_marks_link_down_then_recovers(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port))
    wait_until(lambda: out.link_up)
    sim.stop_answering(True)
    out.submit(frame(1, verdict(VerdictCode.REJECT, 2)))
    wait_until(lambda: not out.link_up)
    sim.stop_answering(False)
    wait_until(lambda: out.stats().delivered == 1)
    assert [r.part_id for r in unique_by_seq(sim.results())] == [1]


def test_dropped_connection_reconnects(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port))
    wait_until(lambda: sim.clients == 1)
    sim.drop_connections()
    for part in (1, 2):
        out.submit(frame(part, verdict(VerdictCode.PASS)))
    wait_until(lambda: out.stats().delivered == 2)
    assert [r.part_id for r in unique_by_seq(sim.results())] == [1, 2]


def test_submit_never_waits_for_a_hung_plc(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, timeout_ms=500))
    wait_until(lambda: out.link_up)
    sim.stop_answering(True)
    for part in range(50):
        out.submit(frame(part, verdict(VerdictCode.PASS)))  # returns at once; the I/O thread waits
    wait_until(lambda: out.stats().submitted == 50)  # the stage's loop keeps accepting meanwhile
    assert out.stats().delivered == 0
    sim.stop_answering(False)
    wait_until(lambda: out.stats().delivered == 50)
    assert [r.part_id for r in unique_by_seq(sim.results())] == list(range(50))


def test_stalled_plc_heartbeat_raises_an_alarm(sim: PlcSimulator, make_output) -> None:
    from inspector.plc.records import StatusBit

    out = make_output(quick_config(sim.port, heartbeat={"plc_timeout_ms": 100}))
    sim.play_heartbeat(0.02)
    wait_until(lambda: out.stats().plc_alive is True)
    sim.stop_program()
    wait_until(lambda: out.stats().plc_alive is False)
    wait_until(lambda: sim.read_registers(0, 1)[0] & StatusBit.PLC_HEARTBEAT_LOST)
    assert sim.read_registers(2, 1)[0] == 922
    sim.play_heartbeat(0.02)
    wait_until(lambda: out.stats().plc_alive is True)
    wait_until(lambda: not sim.read_registers(0, 1)[0] & StatusBit.PLC_HEARTBEAT_LOST)


def test_heartbeat_lost_error_stays_while_the_heartbeat_is_lost(sim: PlcSimulator, make_output) -> None:
    from inspector.plc.records import PlcErrorCode, StatusBit

    out = make_output(quick_config(sim.port, heartbeat={"plc_timeout_ms": 100}))
    wait_until(lambda: out.stats().plc_alive is True)  # the simulator beats from start
    sim.stop_program()
    wait_until(lambda: sim.read_registers(2, 1)[0] == PlcErrorCode.PLC_HEARTBEAT_LOST)
    out.submit(frame(1, verdict(VerdictCode.PASS)))  # an on-time result does not end the cause
    wait_until(lambda: out.stats().delivered == 1)
    out.submit(frame(2, verdict(VerdictCode.REJECT, 3)))
    wait_until(lambda: out.stats().delivered == 2)
    status, _, error = sim.read_registers(0, 3)
    assert error == PlcErrorCode.PLC_HEARTBEAT_LOST and status & StatusBit.PLC_HEARTBEAT_LOST  # before: 0
    sim.play_heartbeat(0.02)  # the PLC is back: the error goes with its cause
    wait_until(lambda: sim.read_registers(2, 1)[0] == PlcErrorCode.NONE)
    assert not sim.read_registers(0, 1)[0] & StatusBit.PLC_HEARTBEAT_LOST


def test_heartbeat_is_watched_by_default_as_the_example_config_says() -> None:
    from pathlib import Path

    from inspector.config.settings import load_config

    example = Path(__file__).resolve().parents[2] / "config" / "line-example.yaml"
    assert PlcConfig().heartbeat.plc_timeout_ms == load_config(example).plc.heartbeat.plc_timeout_ms == 1000


def test_role_off_watches_no_plc_heartbeat(make_output) -> None:
    out = make_output(PlcConfig())  # role off: no PLC, so no heartbeat to miss
    time.sleep(PlcConfig().heartbeat.plc_timeout_ms / 1000.0 + 0.3)
    stats = out.stats()
    assert stats.plc_alive is None and stats.error_code == 0
