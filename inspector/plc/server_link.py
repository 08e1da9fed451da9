"""Server role: the daemon serves the register map and the PLC polls it.

Same interface as the client adapter, so the handshake, buffer and pulses run
unchanged; "writing" means updating the served registers. Coil pulses must be
longer than the PLC's poll period to be seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspector.plc.config import PLC_INPUTS_LEN, PlcConfig
from inspector.plc.register_server import RegisterServer

REGISTER_WRITES = {6, 16}


class ModbusServerLink:
    """The daemon as Modbus TCP server bound to a configured interface."""

    def __init__(self, config: PlcConfig) -> None:
        inputs = config.registers.plc_inputs

        def may_write(function_code: int, address: int, count: int) -> bool:
            # The PLC writes its inputs only; status, results and coils are the daemon's.
            return (
                function_code in REGISTER_WRITES
                and inputs <= address
                and address + count <= inputs + PLC_INPUTS_LEN
            )

        self.served = RegisterServer(
            config.server.host, config.server.port, device_id=config.device_id, may_write=may_write
        )
        self.description = f"server://{config.server.host}:{config.server.port}"

    @property
    def connected(self) -> bool:
        return self.served.serving

    @property
    def clients(self) -> int:
        return self.served.clients

    async def connect(self) -> bool:
        if not self.served.serving:
            port = await self.served.start()
            self.description = f"server://{self.served.host}:{port}"
        return True

    async def close(self) -> None:
        await self.served.stop()

    async def write_block(self, address: int, values: Sequence[int]) -> None:
        await self.served.write_registers(address, values)

    async def write_coil(self, address: int, value: bool) -> None:
        await self.served.write_coil(address, value)

    async def read_registers(self, address: int, count: int) -> list[int]:
        return await self.served.read_registers(address, count)
