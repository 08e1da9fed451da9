"""Free-run mode against the simulator: one block write per part, pulses, status, heartbeat."""

from __future__ import annotations

import threading
import time

from inspector.messages import FailSafeCause, VerdictCode, failsafe_verdict
from inspector.plc.records import ResultFlag, StatusBit
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict


def test_each_part_is_one_block_write_then_a_pulse(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"reject_ms": 5}))
    wait_until(lambda: out.link_up)
    codes = [VerdictCode.PASS, VerdictCode.REJECT, VerdictCode.PASS, VerdictCode.REJECT, VerdictCode.REJECT]
    for i, code in enumerate(codes):
        rule = 17 if code is VerdictCode.REJECT else 0
        out.submit(frame(500 + i, verdict(code, rule, (1.25, -2.5))))
        time.sleep(0.02)  # parts further apart than the pulse width: pulses do not merge
    wait_until(lambda: len(sim.results()) == len(codes) and not sim.coil_state(0))
    results = sim.results()
    assert [r.part_id for r in results] == [500, 501, 502, 503, 504]
    assert [r.seq for r in results] == [1, 2, 3, 4, 5]
    assert [r.verdict for r in results] == codes
    assert [r.first_code for r in results] == [0, 17, 0, 17, 17]
    assert results[0].measurements == (1.25, -2.5, 0.0, 0.0)
    assert (results[-1].ok, results[-1].ng, results[-1].errors) == (2, 3, 0)
    rejected = sum(code is VerdictCode.REJECT for code in codes)
    assert out.stats().reject_pulses == rejected
    # Parts are 20 ms apart and pulses 5 ms wide; on a loaded machine two may still overlap, and
    # overlapping pulses are one longer pulse, which the stats say.
    assert sim.coil_rises(0) == rejected - out.stats().merged_pulses
    # Every block went out in one FC16 request of the full length, before its pulse.
    block_writes = [w for w in sim.writes() if w.address == 10]
    assert all(w.function_code == 16 and len(w.values) == 27 for w in block_writes)
    first_pulse = next(w for w in sim.writes() if w.function_code == 5 and w.values == (1,))
    assert first_pulse.t > block_writes[1].t


def test_alarm_and_failsafe_parts_are_never_passed(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"alarm_ms": 5, "reject_ms": 5}))
    out.submit(frame(1, verdict(VerdictCode.ALARM, 3)))
    out.submit(frame(2, failsafe_verdict(FailSafeCause.CAMERA_LOST, "camera gone")))
    time.sleep(0.03)  # further apart than the pulse width: two reject pulses, not one merged
    out.submit(frame(3, None))  # no verdict at all: failed safe, never passed
    wait_until(lambda: len(sim.results()) == 3)
    alarm, camera, missing = sim.results()
    assert alarm.verdict is VerdictCode.ALARM
    assert camera.verdict is VerdictCode.REJECT and camera.first_code == FailSafeCause.CAMERA_LOST
    assert ResultFlag.FAILSAFE in camera.flags
    assert missing.verdict is VerdictCode.REJECT and ResultFlag.FAILSAFE in missing.flags
    wait_until(lambda: out.stats().alarm_pulses == 1 and out.stats().reject_pulses == 2)
    wait_until(lambda: not sim.coil_state(0) and not sim.coil_state(1))
    assert sim.coil_rises(1) == 1
    assert sim.coil_rises(0) == 2 - out.stats().merged_pulses
    assert out.stats().errors == 2


def test_failsafe_action_alarm_is_configurable(sim: PlcSimulator, make_output) -> None:
    out = make_output(
        quick_config(
            sim.port, mode="triggered", failsafe={"action": "alarm"}, handshake={"inspect_timeout_ms": 50}
        )
    )
    sim.play_handshake(0.01, first_part=9, count=1)
    wait_until(lambda: out.next_trigger(0.1))
    wait_until(lambda: sim.cycles())
    result = sim.cycles()[0].result
    assert result.part_id == 9
    assert result.verdict is VerdictCode.ALARM and result.first_code == FailSafeCause.DEADLINE


def test_status_word_and_heartbeat_only_while_healthy(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, heartbeat={"period_ms": 20}))
    out.set_status(model_loaded=True, degraded=True)
    wait_until(lambda: sim.read_registers(0, 1)[0] & StatusBit.MODEL_LOADED)
    status = StatusBit(sim.read_registers(0, 1)[0])
    assert StatusBit.ONLINE in status and StatusBit.DEGRADED in status
    beat = sim.read_registers(1, 1)[0]
    time.sleep(0.1)
    assert sim.read_registers(1, 1)[0] == beat, "heartbeat moved while not healthy"
    out.set_healthy(True)
    wait_until(lambda: sim.read_registers(1, 1)[0] >= beat + 3)
    out.set_healthy(False)
    time.sleep(0.05)
    frozen = sim.read_registers(1, 1)[0]
    time.sleep(0.1)
    assert sim.read_registers(1, 1)[0] == frozen
    out.set_status(degraded=False)
    wait_until(lambda: not sim.read_registers(0, 1)[0] & StatusBit.DEGRADED)


def test_delayed_pulse_and_late_result(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"delay_ms": 80, "reject_ms": 10, "late_ms": 200}))
    t0 = time.monotonic()
    out.submit(frame(1, verdict(VerdictCode.REJECT, 5), t_capture=t0))
    wait_until(lambda: sim.coil_rises(0) == 1)
    pulse = next(w for w in sim.writes() if w.function_code == 5 and w.values == (1,))
    assert pulse.t - t0 >= 0.08
    # Captured long ago: the gate is past, so no pulse; the block still goes out, flagged late.
    out.submit(frame(2, verdict(VerdictCode.REJECT, 5), t_capture=time.monotonic() - 5.0))
    wait_until(lambda: len(sim.results()) == 2)
    late = sim.results()[1]
    assert ResultFlag.LATE in late.flags and late.part_id == 2
    time.sleep(0.05)
    assert sim.coil_rises(0) == 1
    assert out.stats().late == 1


def test_role_off_counts_without_io(make_output) -> None:
    from inspector.plc import PlcConfig

    out = make_output(PlcConfig())
    assert out.link_up
    out.submit(frame(1, verdict(VerdictCode.PASS)))
    out.submit(frame(2, verdict(VerdictCode.REJECT, 4)))
    wait_until(lambda: out.stats().delivered == 2)
    assert (out.stats().ok, out.stats().ng) == (1, 1)


def test_parts_open_at_shutdown_are_counted_as_failed_at_shutdown(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port))
    wait_until(lambda: out.link_up)
    now = time.monotonic()
    for seq in (1, 2):
        out.captured(seq, now)  # announced, never answered
    out.stop(timeout=2.0)
    stats = out.stats()
    assert (stats.failed_at_shutdown, stats.errors) == (2, 2)
    assert [(r.part_id, r.first_code) for r in sim.results()] == [(1, FailSafeCause.SHUTDOWN), (2, 905)]


def test_a_plc_that_stalls_during_shutdown_still_gets_the_905s(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port))
    wait_until(lambda: out.link_up and out.stats().plc_alive)
    now = time.monotonic()
    for seq in (1, 2):
        out.captured(seq, now)
    # The PLC holds every request until the link has dropped (the first timeout), then answers.
    # Before, the shutdown flush gave up at that drop although the link was back within its backoff.
    sim.stop_answering(True)

    def answer_after_the_drop() -> None:
        wait_until(lambda: out.stats().link_failures >= 1, timeout=10, fail=False)
        sim.stop_answering(False)

    resume = threading.Thread(target=answer_after_the_drop, name="resume-plc")
    resume.start()
    try:
        out.stop(timeout=3.0)
    finally:
        resume.join(5)
    assert out.stats().failed_at_shutdown == 2 and out.stats().link_failures >= 1
    # Blocks held by the stall are taken late and written again: the same seq, which the PLC can tell.
    blocks = dict.fromkeys((r.seq, r.part_id, r.first_code) for r in sim.results())
    assert list(blocks) == [(1, 1, FailSafeCause.SHUTDOWN), (2, 2, FailSafeCause.SHUTDOWN)]
