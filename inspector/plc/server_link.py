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
# Function codes that read holding registers or coils (a write request reads its echo back).
HOLDING_READS = {3, 6, 16, 22, 23}
COIL_READS = {1, 5, 15}


class ModbusServerLink:
    """The daemon as Modbus TCP server bound to a configured interface.

    It serves holding registers 0 up to the end of the register map (gaps between the areas
    read as 0) and coils 0 up to the higher of the two coils. Anything else (past the map,
    discrete inputs, input registers) is refused with exception 2, and so is a write anywhere
    but the PLC's own inputs.
    """

    def __init__(self, config: PlcConfig) -> None:
        registers = config.registers
        inputs = registers.plc_inputs
        coils = max(registers.reject_coil, registers.alarm_coil) + 1

        def may_access(function_code: int, address: int, count: int, writing: bool) -> bool:
            end = address + count
            if writing:  # the PLC writes its inputs only; status, results and coils are the daemon's
                return (
                    function_code in REGISTER_WRITES and inputs <= address and end <= inputs + PLC_INPUTS_LEN
                )
            if function_code in HOLDING_READS:
                return end <= registers.end
            return function_code in COIL_READS and end <= coils

        self.served = RegisterServer(
            config.server.host,
            config.server.port,
            device_id=config.device_id,
            may_access=may_access,
            register_count=registers.end,
            coil_count=coils,
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
