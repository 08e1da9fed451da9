"""Triggered mode, step by step: the test plays the PLC by writing the simulator's memory."""

from __future__ import annotations

import time

from inspector.messages import FailSafeCause, VerdictCode
from inspector.plc.records import PlcErrorCode, ResultFlag, StatusBit, decode_result
from inspector.plc.registers import split_u32
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict

STATUS, RESULT, INPUTS = 0, 10, 40


def status(sim: PlcSimulator) -> StatusBit:
    return StatusBit(sim.read_registers(STATUS, 1)[0])


def trigger(sim: PlcSimulator, part: int) -> None:
    sim.write_registers(INPUTS, [1, 0, *split_u32(part)])


def triggered_config(port: int, **overrides):
    return quick_config(port, mode="triggered", **overrides)


def test_handshake_step_by_step(sim: PlcSimulator, make_output) -> None:
    out = make_output(triggered_config(sim.port))
    wait_until(lambda: out.link_up)
    assert out.next_trigger(0.05) is None
    # 1. PLC writes the part id and raises trigger -> the runtime gets the part, busy rises.
    trigger(sim, 70001)
    got = out.next_trigger(2.0)
    assert got is not None and got.part_id == 70001
    wait_until(lambda: StatusBit.BUSY in status(sim))
    assert StatusBit.RESULT_VALID not in status(sim)
    # 2. PLC drops the trigger once it sees busy.
    sim.write_registers(INPUTS, [0])
    # 3. Verdict -> block written, then result-valid raised, busy dropped.
    out.submit(frame(70001, verdict(VerdictCode.REJECT, 12, (3.5,)), t_capture=got.t_trigger))
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    wait_until(lambda: StatusBit.BUSY not in status(sim))  # verdict in and trigger seen low
    block = decode_result(sim.read_registers(RESULT, 27), 4)
    assert (block.part_id, block.verdict, block.first_code) == (70001, VerdictCode.REJECT, 12)
    assert block.measurements[0] == 3.5
    valid_write = next(
        w for w in sim.writes() if w.address == STATUS and w.values[0] & StatusBit.RESULT_VALID
    )
    block_write = next(w for w in sim.writes() if w.address == RESULT)
    assert block_write.t < valid_write.t, "result-valid raised before the block was written"
    # 4. PLC acks -> result-valid cleared; 5. PLC drops ack.
    sim.write_registers(INPUTS + 1, [1])
    wait_until(lambda: StatusBit.RESULT_VALID not in status(sim))
    sim.write_registers(INPUTS + 1, [0])
    wait_until(lambda: out.stats().delivered == 1)
    assert sim.coil_rises(0) == 1


def test_simulated_plc_cycles_match_parts(sim: PlcSimulator, make_output) -> None:
    out = make_output(triggered_config(sim.port, pulses={"reject_ms": 5}))
    sim.play_handshake(0.03, first_part=100, count=8)
    rejected = 0
    for _ in range(8):
        got = wait_until(lambda: out.next_trigger(0.1))
        code = VerdictCode.REJECT if got.part_id % 3 == 0 else VerdictCode.PASS
        rejected += code is VerdictCode.REJECT
        out.submit(frame(got.part_id, verdict(code, 4 if code is VerdictCode.REJECT else 0)))
    wait_until(lambda: len(sim.cycles()) == 8)
    cycles = sim.cycles()
    assert [c.triggered_part for c in cycles] == [c.result.part_id for c in cycles] == list(range(100, 108))
    assert all((c.result.verdict is VerdictCode.REJECT) == (c.result.part_id % 3 == 0) for c in cycles)
    wait_until(lambda: out.stats().reject_pulses == rejected and not sim.coil_state(0))
    assert sim.coil_rises(0) == rejected - out.stats().merged_pulses
    assert out.stats().missed_triggers == 0 and sim.program.timeouts == 0


def test_no_verdict_by_deadline_fails_safe_and_late_verdict_is_dropped(
    sim: PlcSimulator, make_output
) -> None:
    out = make_output(triggered_config(sim.port, handshake={"inspect_timeout_ms": 60}))
    trigger(sim, 5)
    got = out.next_trigger(2.0)
    assert got is not None
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    block = decode_result(sim.read_registers(RESULT, 27), 4)
    assert (block.part_id, block.verdict, block.first_code) == (5, VerdictCode.REJECT, FailSafeCause.DEADLINE)
    assert ResultFlag.FAILSAFE in block.flags
    assert sim.read_registers(STATUS + 2, 1)[0] == FailSafeCause.DEADLINE
    out.submit(frame(5, verdict(VerdictCode.PASS)))  # too late: the PLC already has part 5's answer
    wait_until(lambda: out.stats().late_verdicts == 1)
    assert len(sim.results()) == 1


def test_trigger_while_busy_fails_that_part_safe(sim: PlcSimulator, make_output) -> None:
    out = make_output(triggered_config(sim.port))
    trigger(sim, 1)
    assert out.next_trigger(2.0) is not None
    wait_until(lambda: StatusBit.BUSY in status(sim))
    sim.write_registers(INPUTS, [0])
    time.sleep(0.03)
    trigger(sim, 2)  # PLC ignores busy
    wait_until(lambda: out.stats().missed_triggers == 1)
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    block = decode_result(sim.read_registers(RESULT, 27), 4)
    assert (block.part_id, block.first_code) == (2, FailSafeCause.TRIGGER_OVERRUN)
    assert out.next_trigger(0.05) is None  # part 2 was never handed to the runtime


def test_unacked_results_buffer_then_overrun(sim: PlcSimulator, make_output) -> None:
    depth = 3
    out = make_output(triggered_config(sim.port, handshake={"buffer_depth": depth, "ack_timeout_ms": 50}))
    wait_until(lambda: out.link_up)
    for part in range(1, depth + 2):  # `depth` held (the posted one included) ... and one too many
        out.submit(frame(part, verdict(VerdictCode.PASS)))
    wait_until(lambda: out.stats().dropped == 1)
    wait_until(lambda: sim.read_registers(STATUS + 2, 1)[0] == PlcErrorCode.ACK_TIMEOUT)
    assert StatusBit.RESULT_VALID in status(sim)
    # The PLC starts acking: the buffered results follow in order; the next block says "overrun".
    sim.play_handshake(1.0, first_part=1000, count=0)
    wait_until(lambda: len(sim.cycles()) == depth)
    cycles = sim.cycles()
    assert [c.result.part_id for c in cycles] == [1, 2, 3]  # part 4 was dropped: the PLC is told
    assert any(ResultFlag.OVERRUN in c.result.flags for c in cycles)
    wait_until(lambda: out.stats().delivered == depth)
    assert out.stats().dropped == 1


def test_ack_not_released_sets_921_and_holds_the_next_result(sim: PlcSimulator, make_output) -> None:
    out = make_output(triggered_config(sim.port, handshake={"ack_release_timeout_ms": 50}))
    wait_until(lambda: out.link_up)
    out.submit(frame(1, verdict(VerdictCode.PASS)))
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    sim.write_registers(INPUTS + 1, [1])  # PLC acks ...
    wait_until(lambda: StatusBit.RESULT_VALID not in status(sim))
    out.submit(frame(2, verdict(VerdictCode.PASS)))  # ... and never drops the ack
    wait_until(lambda: sim.read_registers(STATUS + 2, 1)[0] == PlcErrorCode.ACK_RELEASE_TIMEOUT)
    assert [r.part_id for r in sim.results()] == [1]  # part 2 is not posted over a raised ack
    assert StatusBit.RESULT_VALID not in status(sim)
    sim.write_registers(INPUTS + 1, [0])
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    assert decode_result(sim.read_registers(RESULT, 27), 4).part_id == 2


def test_trigger_held_high_sets_926_until_released(sim: PlcSimulator, make_output) -> None:
    out = make_output(triggered_config(sim.port, handshake={"trigger_release_timeout_ms": 80}))
    trigger(sim, 11)
    got = out.next_trigger(2.0)
    assert got is not None and got.part_id == 11
    out.submit(frame(11, verdict(VerdictCode.PASS), t_capture=got.t_trigger))
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    sim.write_registers(INPUTS + 1, [1])
    wait_until(lambda: StatusBit.RESULT_VALID not in status(sim))
    sim.write_registers(INPUTS + 1, [0])
    # The PLC never drops the trigger: busy cannot fall, and past the timeout the error says why.
    wait_until(lambda: sim.read_registers(STATUS + 2, 1)[0] == PlcErrorCode.TRIGGER_RELEASE_TIMEOUT)
    assert StatusBit.BUSY in status(sim)
    sim.write_registers(INPUTS, [0])
    wait_until(lambda: StatusBit.BUSY not in status(sim))
    trigger(sim, 12)  # the handshake goes on; the next on-time result clears the error
    got = out.next_trigger(2.0)
    assert got is not None and got.part_id == 12
    sim.write_registers(INPUTS, [0])
    out.submit(frame(12, verdict(VerdictCode.PASS), t_capture=got.t_trigger))
    wait_until(lambda: StatusBit.RESULT_VALID in status(sim))
    wait_until(lambda: sim.read_registers(STATUS + 2, 1)[0] == PlcErrorCode.NONE)
