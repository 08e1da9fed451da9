"""Server role answers like a device, checked with an independent client (pyModbusTCP): other
unit ids get exception 0x0B, addresses past the register map exception 2 (illegal data address)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inspector.plc import PlcConfig, PlcOutput
from inspector.plc.records import StatusBit

pymodbustcp_client = pytest.importorskip("pyModbusTCP.client")

ILLEGAL_ADDRESS = 0x02
GATEWAY_TARGET_NO_RESPONSE = 0x0B
MAP_END = 46  # defaults: status 0-3, result 10-36, PLC inputs 40-45


@pytest.fixture
def served_port(make_output) -> int:
    out: PlcOutput = make_output(
        PlcConfig(role="server", server={"host": "127.0.0.1", "port": 0}, device_id=7)
    )
    return int(out.stats().link.rsplit(":", 1)[1])


@pytest.fixture
def plc(served_port: int) -> Iterator[object]:
    client = pymodbustcp_client.ModbusClient(
        host="127.0.0.1", port=served_port, unit_id=7, timeout=2.0, auto_open=True
    )
    try:
        yield client
    finally:
        client.close()


@pytest.mark.parametrize("unit_id", [1, 0, 8, 255])
def test_another_unit_id_is_answered_gateway_target_failed(served_port: int, unit_id: int) -> None:
    other = pymodbustcp_client.ModbusClient(
        host="127.0.0.1", port=served_port, unit_id=unit_id, timeout=2.0, auto_open=True
    )
    try:
        assert other.read_holding_registers(0, 3) is None
        assert other.last_except == GATEWAY_TARGET_NO_RESPONSE  # before: 4 (server failure)
        assert not other.write_single_register(40, 1)
        assert other.last_except == GATEWAY_TARGET_NO_RESPONSE
    finally:
        other.close()


def test_the_configured_unit_id_reads_the_whole_map(plc) -> None:
    words = plc.read_holding_registers(0, MAP_END)
    assert words is not None and len(words) == MAP_END
    assert words[0] & StatusBit.ONLINE
    assert words[4:10] == [0] * 6  # the gap between status and result reads as 0


@pytest.mark.parametrize(("address", "count"), [(MAP_END, 1), (MAP_END - 1, 2), (1000, 4), (65535, 1)])
def test_reads_past_the_map_are_illegal_addresses(plc, address: int, count: int) -> None:
    assert plc.read_holding_registers(address, count) is None
    assert plc.last_except == ILLEGAL_ADDRESS  # before: zeros up to register 1023


def test_only_the_configured_coils_and_holding_registers_are_served(plc) -> None:
    assert plc.read_coils(0, 2) == [False, False]
    assert plc.read_coils(2, 1) is None and plc.last_except == ILLEGAL_ADDRESS
    assert plc.read_input_registers(0, 1) is None and plc.last_except == ILLEGAL_ADDRESS
    assert plc.read_discrete_inputs(0, 1) is None and plc.last_except == ILLEGAL_ADDRESS
    assert not plc.write_single_register(MAP_END, 1) and plc.last_except == ILLEGAL_ADDRESS
    assert plc.write_multiple_registers(40, [0, 0, 0, 0, 1])  # the PLC's own inputs
