"""The small interface the output stage talks to, shaped like the Modbus calls it makes.

Three implementations: ``client_link.ModbusClientLink`` (the daemon writes into the PLC),
``server_link.ModbusServerLink`` (the PLC polls the daemon) and ``NullLink`` (role off).
A link raises ``PlcUnavailable`` to mean "retry after a backoff" and ``PlcExceptionReply``
when the peer refused the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from inspector.errors import PlcError, PlcUnavailable

# Exception codes that mean "try again later" rather than "this request is wrong".
RETRYABLE_EXCEPTION_CODES = {5, 6, 0x0A, 0x0B}


class PlcExceptionReply(PlcError):
    """The PLC answered with a Modbus exception (illegal address, device failure, ...)."""

    def __init__(self, what: str, exception_code: int) -> None:
        super().__init__(f"PLC refused {what}: Modbus exception code {exception_code}")
        self.exception_code = exception_code


class PlcBusyReply(PlcExceptionReply, PlcUnavailable):
    """An exception reply that asks to retry later (busy, acknowledge, gateway)."""


class PlcLink(Protocol):
    """The small interface the output stage talks to: shaped like the Modbus calls it makes."""

    @property
    def connected(self) -> bool: ...

    @property
    def description(self) -> str: ...

    @property
    def clients(self) -> int:
        """PLCs connected to us (server role); 0 in the other roles."""
        ...

    async def connect(self) -> bool: ...

    async def close(self) -> None: ...

    async def write_block(self, address: int, values: Sequence[int]) -> None: ...

    async def write_coil(self, address: int, value: bool) -> None: ...

    async def read_registers(self, address: int, count: int) -> list[int]: ...


class NullLink:
    """Role ``off``: nothing is written; results are still counted and logged."""

    description = "off"
    connected = True
    clients = 0

    async def connect(self) -> bool:
        return True

    async def close(self) -> None:
        return None

    async def write_block(self, address: int, values: Sequence[int]) -> None:
        return None

    async def write_coil(self, address: int, value: bool) -> None:
        return None

    async def read_registers(self, address: int, count: int) -> list[int]:
        return [0] * count
