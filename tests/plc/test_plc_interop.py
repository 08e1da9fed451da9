"""Interoperability with an independent Modbus implementation (pyModbusTCP), server role,
and RTU framing over TCP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from inspector.messages import VerdictCode
from inspector.plc import PlcConfig
from inspector.plc.records import StatusBit, decode_result
from inspector.plc.registers import split_u32
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.plc import frame, quick_config, verdict

pymodbustcp_server = pytest.importorskip("pyModbusTCP.server")
pymodbustcp_client = pytest.importorskip("pyModbusTCP.client")


@pytest.fixture
def foreign_plc() -> Iterator[object]:
    """pyModbusTCP's server on a free loopback port (its own threads end with their connections)."""
    server = pymodbustcp_server.ModbusServer(host="127.0.0.1", port=0, no_block=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def foreign_port(server: object) -> int:
    return int(server._service.server_address[1])  # type: ignore[attr-defined]


def test_client_role_against_pymodbustcp_server(foreign_plc, make_output) -> None:
    bank = foreign_plc.data_bank
    out = make_output(quick_config(foreign_port(foreign_plc), pulses={"reject_ms": 5}))
    wait_until(lambda: out.link_up)
    out.submit(frame(4242, verdict(VerdictCode.REJECT, 31, (0.5,))))
    wait_until(lambda: bank.get_holding_registers(10, 27)[0] == 1)
    block = decode_result(bank.get_holding_registers(10, 27), 4)
    assert (block.part_id, block.verdict, block.first_code, block.measurements[0]) == (
        4242,
        VerdictCode.REJECT,
        31,
        0.5,
    )
    out.set_status(model_loaded=True)
    wait_until(lambda: bank.get_holding_registers(0, 1)[0] & StatusBit.MODEL_LOADED)
    wait_until(lambda: out.stats().reject_pulses == 1 and not bank.get_coils(0, 1)[0])


def test_triggered_mode_against_pymodbustcp_server(foreign_plc, make_output) -> None:
    bank = foreign_plc.data_bank
    out = make_output(quick_config(foreign_port(foreign_plc), mode="triggered"))
    bank.set_holding_registers(40, [1, 0, *split_u32(77)])
    trig = out.next_trigger(3.0)
    assert trig is not None and trig.part_id == 77
    bank.set_holding_registers(40, [0])
    out.submit(frame(77, verdict(VerdictCode.PASS), t_capture=trig.t_trigger))
    wait_until(lambda: bank.get_holding_registers(0, 1)[0] & StatusBit.RESULT_VALID)
    assert decode_result(bank.get_holding_registers(10, 27), 4).part_id == 77
    bank.set_holding_registers(41, [1])
    wait_until(lambda: not bank.get_holding_registers(0, 1)[0] & StatusBit.RESULT_VALID)
    bank.set_holding_registers(41, [0])


def test_server_role_polled_by_pymodbustcp_client(make_output) -> None:
    out = make_output(PlcConfig(role="server", server={"host": "127.0.0.1", "port": 0}, mode="triggered"))
    port = int(out.stats().link.rsplit(":", 1)[1])
    plc = pymodbustcp_client.ModbusClient(host="127.0.0.1", port=port, timeout=2.0, auto_open=True)
    try:
        assert not plc.write_single_register(0, 0xFFFF)  # the status word is the daemon's, not the PLC's
        assert plc.last_except == 2  # illegal data address
        assert not plc.write_single_coil(0, True)
        assert plc.write_multiple_registers(40, [1, 0, *split_u32(9001)])
        trig = out.next_trigger(3.0)
        assert trig is not None and trig.part_id == 9001
        wait_until(lambda: plc.read_holding_registers(0, 1)[0] & StatusBit.BUSY)
        assert plc.write_single_register(40, 0)
        out.submit(frame(9001, verdict(VerdictCode.REJECT, 2), t_capture=trig.t_trigger))
        wait_until(lambda: plc.read_holding_registers(0, 1)[0] & StatusBit.RESULT_VALID)
        block = decode_result(plc.read_holding_registers(10, 27), 4)
        assert (block.part_id, block.verdict) == (9001, VerdictCode.REJECT)
        wait_until(lambda: out.stats().plc_clients == 1)
        assert plc.write_single_register(41, 1)
        wait_until(lambda: not plc.read_holding_registers(0, 1)[0] & StatusBit.RESULT_VALID)
        assert plc.write_single_register(41, 0)
        wait_until(lambda: out.stats().delivered == 1)
    finally:
        plc.close()


def test_rtu_framing_over_tcp(make_output) -> None:
    with PlcSimulator(rtu_framing=True) as sim:
        out = make_output(quick_config(sim.port, transport="rtu_over_tcp"))
        out.submit(frame(5, verdict(VerdictCode.PASS)))
        wait_until(lambda: sim.results())
        assert sim.results()[0].part_id == 5
        out.stop(timeout=3.0)


def test_failsafe_pulse_and_error_code_reach_a_pymodbustcp_server(foreign_plc, make_output) -> None:
    from inspector.messages import FailSafeCause, failsafe_verdict

    bank = foreign_plc.data_bank
    out = make_output(quick_config(foreign_port(foreign_plc), pulses={"late_ms": 1000, "reject_ms": 300}))
    wait_until(lambda: out.link_up)
    lost = failsafe_verdict(FailSafeCause.CAMERA_LOST, "no frame from cam0")
    out.submit(frame(12, lost, t_capture=time.monotonic() - 1.1))  # past a rule reject's window
    wait_until(lambda: bank.get_coils(0, 1)[0])  # the reject coil is switched on ...
    wait_until(lambda: not bank.get_coils(0, 1)[0])  # ... and off again
    block = decode_result(bank.get_holding_registers(10, 27), 4)
    assert (block.part_id, block.first_code) == (12, FailSafeCause.CAMERA_LOST)
    assert bank.get_holding_registers(2, 1)[0] == FailSafeCause.CAMERA_LOST
