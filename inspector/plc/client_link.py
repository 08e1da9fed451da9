"""Client role: the one adapter between the output stage and pymodbus' client.

Every pymodbus failure, raised (timeouts, closed sockets) or returned (exception
replies with ``isError()`` true), leaves here as ``PlcUnavailable`` (retry after a
backoff) or ``PlcExceptionReply`` (the PLC refused the request). Nothing above this
module touches pymodbus.
"""

from __future__ import annotations

import asyncio
import termios
from collections.abc import Awaitable, Sequence
from typing import Any

from pymodbus import FramerType
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from inspector.errors import PlcError, PlcUnavailable
from inspector.plc.config import PlcConfig, Transport
from inspector.plc.link import RETRYABLE_EXCEPTION_CODES, PlcBusyReply, PlcExceptionReply
from inspector.plc.serial_line import serial_line_problem, settings_text


def serial_settings_refused(config: PlcConfig, exc: BaseException) -> str:
    return (
        f"the serial device refused the line settings in plc.serial ({settings_text(config.serial)}): {exc}"
    )


def _make_client(config: PlcConfig) -> Any:
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

    # reconnect_delay=0: the stage runs its own capped backoff; pymodbus' default cap is 300 s.
    common: dict[str, Any] = {
        "timeout": config.timeout_ms / 1000.0,
        "retries": config.retries,
        "reconnect_delay": 0,
        "reconnect_delay_max": 0,
        "name": "inspector-plc",
    }
    if config.transport is Transport.RTU:
        serial = config.serial
        problem = serial_line_problem(serial)
        if problem is not None:
            key = "plc.serial" if "line settings" in problem else "plc.serial.port"
            raise PlcError(f"{key}: {serial.port} {problem} (plc.transport is rtu)")
        try:
            return AsyncModbusSerialClient(
                serial.port,
                framer=FramerType.RTU,
                baudrate=serial.baudrate,
                parity=serial.parity,
                stopbits=serial.stopbits,
                bytesize=serial.bytesize,
                **common,
            )
        except RuntimeError as exc:  # pymodbus raises this when pyserial is missing
            raise PlcError(f"plc.transport=rtu needs the pyserial package: {exc}") from None
    framer = FramerType.RTU if config.transport is Transport.RTU_OVER_TCP else FramerType.SOCKET
    return AsyncModbusTcpClient(config.host, port=config.port, framer=framer, **common)


class ModbusClientLink:
    """The daemon as Modbus client writing into the PLC (TCP, RTU, or RTU over TCP)."""

    def __init__(self, config: PlcConfig) -> None:
        self._config = config
        self._device_id = config.device_id
        self._client = _make_client(config)
        if config.transport is Transport.RTU:
            self.description = f"rtu:{config.serial.port}@{config.serial.baudrate}"
        else:
            self.description = f"{config.transport.value}://{config.host}:{config.port}"

    clients = 0  # we connect to the PLC; nobody connects to us

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self) -> bool:
        try:
            return bool(await self._client.connect())
        except (ModbusException, OSError, asyncio.TimeoutError):
            return False
        except (termios.error, ValueError) as exc:  # raised raw by pyserial, not as OSError
            raise PlcError(f"{self.description}: {serial_settings_refused(self._config, exc)}") from None

    async def close(self) -> None:
        self._client.close()

    async def _call(self, what: str, request: Awaitable[Any]) -> Any:
        try:
            reply = await request
        except (ConnectionException, ModbusIOException, asyncio.TimeoutError, OSError) as exc:
            raise PlcUnavailable(f"{what} on {self.description}: {exc}") from None
        except ModbusException as exc:
            raise PlcError(f"{what} on {self.description}: {exc}") from None
        if reply is None:
            raise PlcUnavailable(f"{what} on {self.description}: no reply")
        if reply.isError():
            code = int(getattr(reply, "exception_code", 0) or 0)
            cls = PlcBusyReply if code in RETRYABLE_EXCEPTION_CODES else PlcExceptionReply
            raise cls(what, code)
        return reply

    def _require_connection(self, what: str) -> None:
        # pymodbus would try a blocking-ish implicit connect per request; the stage reconnects itself.
        if not self._client.connected:
            raise PlcUnavailable(f"{what} on {self.description}: not connected")

    async def write_block(self, address: int, values: Sequence[int]) -> None:
        what = f"write of {len(values)} registers at {address}"
        self._require_connection(what)
        await self._call(what, self._client.write_registers(address, list(values), device_id=self._device_id))

    async def write_coil(self, address: int, value: bool) -> None:
        what = f"write of coil {address}={int(value)}"
        self._require_connection(what)
        await self._call(what, self._client.write_coil(address, value, device_id=self._device_id))

    async def read_registers(self, address: int, count: int) -> list[int]:
        what = f"read of {count} registers at {address}"
        self._require_connection(what)
        reply = await self._call(
            what, self._client.read_holding_registers(address, count=count, device_id=self._device_id)
        )
        registers = list(reply.registers)
        if len(registers) < count:
            raise PlcError(f"{what} on {self.description}: got {len(registers)} registers")
        return registers[:count]
