"""The simulator's write log keeps only the newest writes (a long in-process run stays flat)."""

from __future__ import annotations

from pymodbus.client import ModbusTcpClient

from inspector.plc.simulator import PlcSimulator


def test_write_log_keeps_the_newest_writes_only() -> None:
    with PlcSimulator(write_log_limit=3) as sim:
        client = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=2)
        try:
            assert client.connect()
            for value in range(5):
                assert not client.write_register(100, value, device_id=1).isError()
        finally:
            client.close()
        assert [w.values for w in sim.writes()] == [(2,), (3,), (4,)]
