"""Modbus RTU on a real serial line: two pseudo-terminals joined like a null-modem cable.

The daemon's client (pyserial through pymodbus) opens one end, the simulator's pymodbus
RTU serial server the other; a small relay thread carries the bytes between the two
pty masters. No socat, no hardware: only what Linux gives every test run.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.errors import PlcError
from inspector.messages import VerdictCode
from inspector.plc import PlcConfig, PlcOutput
from inspector.plc.config import SerialConfig
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict

RELAY_POLL_S = 0.5
JOIN_TIMEOUT_S = 5.0
BAUD = 115200
# Parity is meaningless on a pty and some kernels' pty drivers refuse PARENB outright; the
# end-to-end exchange runs 8N1, and parity E gets its own test below.
LINE = {"port": "", "baudrate": BAUD, "parity": "N"}


class NullModem:
    """Two ptys whose masters are cross-connected: what one port sends, the other receives."""

    def __init__(self) -> None:
        self._a_master, self._a_slave = os.openpty()
        self._b_master, self._b_slave = os.openpty()
        # Raw before anyone opens the ports: no echo, no newline translation of RTU bytes.
        # Holding the slaves open keeps the masters from reading EIO while a port is closed.
        for fd in (self._a_slave, self._b_slave):
            tty.setraw(fd)
        self.port_a = os.ttyname(self._a_slave)
        self.port_b = os.ttyname(self._b_slave)
        self._wake_r, self._wake_w = os.pipe()
        self.relayed = 0
        self._thread = threading.Thread(target=self._relay, name="test-null-modem", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        peer = {self._a_master: self._b_master, self._b_master: self._a_master}
        while True:
            ready, _, _ = select.select([*peer, self._wake_r], [], [], RELAY_POLL_S)
            if self._wake_r in ready:
                return
            for fd in ready:
                with contextlib.suppress(OSError):
                    data = os.read(fd, 4096)
                    os.write(peer[fd], data)
                    self.relayed += len(data)

    def close(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(JOIN_TIMEOUT_S)
        assert not self._thread.is_alive(), "null-modem relay did not stop"
        for fd in (self._a_master, self._a_slave, self._b_master, self._b_slave, self._wake_r, self._wake_w):
            os.close(fd)


def open_terminals() -> set[str]:
    """The pty ends this process holds open (ours, pyserial's, pymodbus')."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(("/dev/pts/", "/dev/ptmx")):
                held.add(f"{fd}->{target}")
    return held


@pytest.fixture
def modem() -> Iterator[NullModem]:
    before = open_terminals()
    cable = NullModem()
    try:
        yield cable
    finally:
        cable.close()
    assert open_terminals() == before, "a serial port was left open"


def pty_accepts_parity(modem: NullModem) -> bool:
    fd = os.open(modem.port_a, os.O_RDWR | os.O_NOCTTY)
    try:
        attrs = termios.tcgetattr(fd)
        attrs[2] |= termios.PARENB
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except termios.error:
        return False
    finally:
        os.close(fd)
    return True


def rtu_config(port: str, parity: str = "N", **overrides: object) -> PlcConfig:
    # A pty carries bytes at memory speed; the longer timeout is for a loaded CI machine.
    return quick_config(
        502,
        transport="rtu",
        serial={**LINE, "port": port, "parity": parity},
        timeout_ms=500,
        retries=1,
        **overrides,
    )


def test_result_block_and_reject_pulse_over_rtu_serial(modem: NullModem, make_output) -> None:
    with PlcSimulator(serial=SerialConfig(**{**LINE, "port": modem.port_a})) as sim:
        out = make_output(rtu_config(modem.port_b, pulses={"reject_ms": 20}))
        wait_until(lambda: out.link_up)
        out.submit(frame(41, verdict(VerdictCode.PASS, 0, (0.5, 1.0))))
        out.submit(frame(42, verdict(VerdictCode.REJECT, 17, (1.25, -2.5))))
        wait_until(lambda: len(sim.results()) == 2 and sim.coil_rises(0) == 1 and not sim.coil_state(0))
        passed, rejected = sim.results()
        assert (passed.part_id, passed.seq, passed.verdict) == (41, 1, VerdictCode.PASS)
        assert (rejected.part_id, rejected.seq, rejected.verdict) == (42, 2, VerdictCode.REJECT)
        assert rejected.first_code == 17
        assert rejected.measurements == (1.25, -2.5, 0.0, 0.0)
        assert (rejected.ok, rejected.ng, rejected.errors) == (1, 1, 0)
        block_writes = [w for w in sim.writes() if w.address == 10]
        assert block_writes and all(w.function_code == 16 and len(w.values) == 27 for w in block_writes)
        coil_writes = [w.values for w in sim.writes() if w.function_code == 5 and w.address == 0]
        assert coil_writes == [(1,), (0,)]
        assert out.stats().reject_pulses == 1
        out.stop(timeout=3.0)
    assert modem.relayed > 0


def test_even_parity_works_or_is_refused_clearly(modem: NullModem, make_output) -> None:
    line = SerialConfig(**{**LINE, "port": modem.port_a, "parity": "E"})
    if pty_accepts_parity(modem):
        with PlcSimulator(serial=line) as sim:
            out = make_output(rtu_config(modem.port_b, parity="E"))
            out.submit(frame(7, verdict(VerdictCode.PASS)))
            wait_until(lambda: [r.part_id for r in sim.results()] == [7])
            out.stop(timeout=3.0)
        return
    # The trial open at start catches it, on both ends, before pymodbus holds the port.
    with pytest.raises(
        PlcError, match=r"cannot serve Modbus on serial port .*: it refused the line settings"
    ):
        PlcSimulator(serial=line).start()
    with pytest.raises(PlcError, match=r"plc\.serial: .* refused the line settings \(115200 baud, 8E1\)"):
        PlcOutput(rtu_config(modem.port_b, parity="E")).start()


def test_busy_serial_port_is_a_clear_error(modem: NullModem) -> None:
    busy = pytest.raises(PlcError, match=r"plc\.serial\.port: .* cannot be opened")
    with PlcSimulator(serial=SerialConfig(**{**LINE, "port": modem.port_a})), busy:
        PlcOutput(rtu_config(modem.port_a)).start()  # the simulator holds this end


def test_missing_serial_port_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB9"
    out = PlcOutput(rtu_config(str(missing)))
    with pytest.raises(PlcError, match=r"plc\.serial\.port: .*ttyUSB9 does not exist"):
        out.start()
    out.stop(timeout=1.0)


def test_serial_port_that_is_not_a_device_is_a_clear_error(tmp_path: Path) -> None:
    not_a_tty = tmp_path / "ttyS0"
    not_a_tty.write_text("")
    with pytest.raises(PlcError, match=r"plc\.serial\.port: .*ttyS0 is not a serial device"):
        PlcOutput(rtu_config(str(not_a_tty))).start()


def test_plc_sim_on_a_missing_serial_port_prints_one_line(tmp_path: Path, capsys) -> None:
    code = main(["plc-sim", "--serial", str(tmp_path / "ttyUSB9"), "--duration", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "plc-sim: error: cannot serve Modbus on serial port" in err
    assert "ttyUSB9: it does not exist" in err
    assert "Traceback" not in err
