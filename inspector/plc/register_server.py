"""A Modbus server holding one register space, with hooks for writes and faults.

Used twice: by the daemon in server role (the PLC polls the daemon) and by the PLC
simulator. Serves TCP, or RTU on a serial line when given a ``SerialConfig``. Runs
inside the caller's asyncio loop. Register and coil spaces are separate (coil N and
register N are different things), as on most PLCs.

It answers as a device does: an address it does not serve is refused with exception 2
(illegal data address), and a request for another unit id is not this device's. Over TCP
that is exception 0x0B (gateway target device failed to respond, what a Modbus TCP gateway
answers for a unit id with no device behind it: fast and plain in the PLC's diagnostics,
where silence would look like a network fault); on a serial line, where other devices share
the bus, it stays silent.
"""

from __future__ import annotations

import asyncio
import termios
from collections.abc import Callable, Sequence
from typing import Any

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from inspector.errors import PlcError
from inspector.plc.config import SerialConfig
from inspector.plc.serial_line import serial_line_problem

# (function code, address, values) for every write a client makes.
WriteHook = Callable[[int, int, list[int] | list[bool]], None]
# (function code, address, count, writing) -> may a client read (writing False) or write there?
AccessGuard = Callable[[int, int, int, bool], bool]
ConnectHook = Callable[[bool], None]

REGISTER_SPACE = 1024
COIL_SPACE = 64
ADDRESS_SPACE = 0x10000


async def _no_such_device(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    raise NoSuchIdException("unit id not served")  # pymodbus answers 0x0B, or nothing on serial


class RegisterServer:
    """One device's holding registers and coils served over Modbus TCP or RTU serial."""

    def __init__(
        self,
        host: str,
        port: int,
        device_id: int = 1,
        on_write: WriteHook | None = None,
        on_connect: ConnectHook | None = None,
        framer: FramerType = FramerType.SOCKET,
        may_access: AccessGuard | None = None,
        serial: SerialConfig | None = None,
        register_count: int = REGISTER_SPACE,
        coil_count: int = COIL_SPACE,
    ) -> None:
        self.host = host
        self.serial = serial
        self._may_access = may_access
        self.register_count = register_count
        self.coil_count = coil_count
        self.requested_port = port
        self.port = 0
        self.device_id = device_id
        self.clients = 0
        self.exception_code: int | None = None  # fault: answer every request with this exception
        self._on_write = on_write
        self._on_connect = on_connect
        self._framer = framer
        self._internal = False
        self._answering = asyncio.Event()
        self._answering.set()
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    def _devices(self) -> list[SimDevice]:
        coils = [SimData(0, values=[False] * self.coil_count, datatype=DataType.BITS)]
        unused = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        registers = [SimData(0, count=self.register_count, values=0, datatype=DataType.REGISTERS)]
        inputs = [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)]
        device = SimDevice(id=self.device_id, simdata=(coils, unused, registers, inputs), action=self._action)
        if self.device_id == 0:
            return [device]  # device id 0 answers every unit id
        # Every other unit id reaches this catch-all (id 0), whose every address is valid so that
        # pymodbus asks its action, which tells pymodbus there is no such device.
        everything = [SimData(0, count=ADDRESS_SPACE, values=0, datatype=DataType.REGISTERS)]
        return [device, SimDevice(id=0, simdata=everything, action=_no_such_device)]

    def _make_server(self) -> ModbusTcpServer | ModbusSerialServer:
        if self.serial is not None:
            line = self.serial
            return ModbusSerialServer(
                self._devices(),
                framer=FramerType.RTU,
                port=line.port,
                baudrate=line.baudrate,
                parity=line.parity,
                stopbits=line.stopbits,
                bytesize=line.bytesize,
                trace_connect=self._trace_connect,
                ignore_missing_devices=True,  # a shared bus: another unit id is another device's
            )
        return ModbusTcpServer(
            self._devices(),
            address=(self.host, self.requested_port),
            framer=self._framer,
            trace_connect=self._trace_connect,
        )

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0; 0 on a serial line)."""
        if self.serial is not None and (problem := serial_line_problem(self.serial)):
            raise PlcError(f"cannot serve Modbus on {self.where}: it {problem}")
        server = self._make_server()
        try:
            await server.serve_forever(background=True)
        except (OSError, RuntimeError, ValueError, termios.error) as exc:
            # termios.error: a serial device refusing the line settings (pyserial lets it through raw).
            raise PlcError(f"cannot serve Modbus on {self.where}: {exc}") from None
        self._server = server
        if self.serial is not None:
            return 0
        transport: Any = server.transport
        self.port = int(transport.sockets[0].getsockname()[1])
        self.requested_port = self.port  # a restart serves the same port, even when 0 was asked
        return self.port

    async def stop(self) -> None:
        self._answering.set()  # release stalled requests so their handlers can finish
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        self.clients = 0

    @property
    def where(self) -> str:
        if self.serial is not None:
            return f"serial port {self.serial.port}"
        return f"{self.host}:{self.requested_port}"

    @property
    def serving(self) -> bool:
        return self._server is not None

    def _trace_connect(self, connected: bool) -> None:
        self.clients = max(0, self.clients + (1 if connected else -1))
        if self._on_connect is not None:
            self._on_connect(connected)

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if self._internal:
            return None
        if self.exception_code is not None:
            return ExcCodes(self.exception_code)
        guard = self._may_access
        if guard is not None and not guard(function_code, address, count, values is not None):
            return ExcCodes.ILLEGAL_ADDRESS
        await self._answering.wait()
        if values is not None and self._on_write is not None:
            self._on_write(function_code, address, list(values))
        return None

    # Faults (simulator) ------------------------------------------------------------------

    def stop_answering(self, stalled: bool) -> None:
        """Hold every request unanswered (socket stays open) until called with False."""
        if stalled:
            self._answering.clear()
        else:
            self._answering.set()

    def drop_connections(self) -> int:
        """Close every client connection; the listener stays up."""
        if self._server is None:
            return 0
        connections = list(self._server.active_connections.values())
        for connection in connections:
            connection.close()
        return len(connections)

    # Local access (no hooks, no faults) ---------------------------------------------------

    def _context(self) -> Any:
        if self._server is None:
            raise PlcError("Modbus server is not running")
        return self._server.context

    async def _access(self, func_code: int, address: int, count: int, values: Any = None) -> Any:
        context = self._context()
        self._internal = True
        try:
            if values is None:
                result = await context.async_getValues(self.device_id, func_code, address, count)
            else:
                result = await context.async_setValues(self.device_id, func_code, address, values)
        finally:
            self._internal = False
        if isinstance(result, ExcCodes):
            raise PlcError(f"local Modbus access fc={func_code} at {address} (count {count}) refused")
        return result

    async def read_registers(self, address: int, count: int) -> list[int]:
        return [int(v) for v in await self._access(3, address, count)]

    async def write_registers(self, address: int, values: Sequence[int]) -> None:
        await self._access(16, address, len(values), [int(v) for v in values])

    async def read_coils(self, address: int, count: int) -> list[bool]:
        return [bool(v) for v in await self._access(1, address, count)]

    async def write_coil(self, address: int, value: bool) -> None:
        await self._access(5, address, 1, [bool(value)])
