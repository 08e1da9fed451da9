"""A fail-safe verdict is never weaker than a rule reject: it pulses the reject coil whenever its
(fail-safe) pulse window allows, and its 9xx code stays in the error register, late or not."""

from __future__ import annotations

import time

from inspector.app.config import RuntimeConfig
from inspector.messages import FailSafeCause, VerdictCode, failsafe_verdict
from inspector.plc import PlcConfig
from inspector.plc.records import PlcErrorCode, ResultFlag
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict

ERROR_REGISTER = 2
LATE_MS = 1000  # the window; the fail-safe grace on top of it is min(late_ms, 500 ms)


def camera_lost(part: int, seconds_ago: float):
    """Part ``part``, triggered ``seconds_ago``, failed safe because its camera gave no frame."""
    lost = failsafe_verdict(FailSafeCause.CAMERA_LOST, "no frame from cam0")
    return frame(part, lost, t_capture=time.monotonic() - seconds_ago)


def test_failsafe_after_the_window_still_pulses_and_keeps_902(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"late_ms": LATE_MS, "reject_ms": 5}))
    wait_until(lambda: out.link_up)
    # Decided 1.1 s after its trigger: past the 1 s window a rule reject has, inside the fail-safe's.
    out.submit(camera_lost(1, seconds_ago=1.1))
    wait_until(lambda: out.stats().delivered == 1)
    wait_until(lambda: out.stats().reject_pulses == 1)  # before: no pulse, the part passed the gate
    assert sim.coil_rises(0) == 1
    block = sim.results()[0]
    assert block.first_code == FailSafeCause.CAMERA_LOST and block.flags == ResultFlag.FAILSAFE
    assert out.stats().late == 0
    assert sim.read_registers(ERROR_REGISTER, 1)[0] == FailSafeCause.CAMERA_LOST  # before: 923


def test_failsafe_past_its_window_keeps_its_code_and_lateness_does_not_hide_it(
    sim: PlcSimulator, make_output
) -> None:
    out = make_output(quick_config(sim.port, pulses={"late_ms": LATE_MS, "reject_ms": 5}))
    wait_until(lambda: out.link_up)
    out.submit(camera_lost(1, seconds_ago=10.0))  # far too late for any pulse
    wait_until(lambda: out.stats().delivered == 1)
    block = sim.results()[0]
    assert block.flags == ResultFlag.FAILSAFE | ResultFlag.LATE
    assert out.stats().late == 1 and out.stats().reject_pulses == 0
    assert sim.read_registers(ERROR_REGISTER, 1)[0] == FailSafeCause.CAMERA_LOST  # not 923
    late_pass = frame(2, verdict(VerdictCode.PASS), t_capture=time.monotonic() - 10.0)
    out.submit(late_pass)
    wait_until(lambda: out.stats().delivered == 2)
    assert sim.read_registers(ERROR_REGISTER, 1)[0] == FailSafeCause.CAMERA_LOST  # 923 does not hide 902
    out.submit(frame(3, verdict(VerdictCode.PASS)))  # the next on-time, real verdict clears it
    wait_until(lambda: sim.read_registers(ERROR_REGISTER, 1)[0] == PlcErrorCode.NONE)


def test_a_late_rule_reject_still_sets_923(sim: PlcSimulator, make_output) -> None:
    out = make_output(quick_config(sim.port, pulses={"late_ms": LATE_MS, "reject_ms": 5}))
    wait_until(lambda: out.link_up)
    out.submit(frame(1, verdict(VerdictCode.REJECT, 4), t_capture=time.monotonic() - 1.1))
    wait_until(lambda: out.stats().late == 1)
    # The late count is set as the block is written; the 923 reaches the PLC with the next status
    # write, a moment later (on a loaded machine the test read the register in between).
    wait_until(lambda: sim.read_registers(ERROR_REGISTER, 1)[0] == PlcErrorCode.RESULT_LATE)
    assert out.stats().reject_pulses == 0  # a rule reject has no grace: it would hit another part


def test_default_grab_timeout_fits_the_default_failsafe_window() -> None:
    plc = PlcConfig(role="client", mode="triggered")
    grab_ms = RuntimeConfig().trigger_grab_timeout_s * 1000.0
    # the 902 is decided at the grab timeout; it reaches the PLC within the fail-safe window with room
    # to spare (before: a 1000 ms grab timeout against a 200 ms window)
    assert grab_ms <= plc.pulses.window_ms / 2 < plc.pulses.failsafe_window_ms
    assert plc.grab_timeout_problem(RuntimeConfig().trigger_grab_timeout_s) is None


def test_a_grab_timeout_past_the_failsafe_window_is_reported() -> None:
    plc = PlcConfig(role="client", mode="triggered")
    problem = plc.grab_timeout_problem(1.0)
    assert problem is not None and "trigger_grab_timeout_s (1000 ms)" in problem and "200 ms" in problem
    assert plc.model_copy(update={"mode": "free_run"}).grab_timeout_problem(1.0) is None
    no_pulses = PlcConfig(role="client", mode="triggered", pulses={"enabled": False})
    assert no_pulses.grab_timeout_problem(1.0) is None  # the PLC rejects from the block itself
