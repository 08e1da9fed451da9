"""A PLC simulator: a Modbus TCP server on loopback (or RTU on a serial line) that records every write.

Usable as a library (tests, demo, benchmark start it in-process on a free port and
stop it with no thread left) and as ``inspector plc-sim``. It can play the PLC side
of the handshake (see ``program``) and inject faults: drop connections, stop
answering, answer with Modbus exceptions, or be killed and restarted on its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pymodbus import FramerType

from inspector.errors import PlcError
from inspector.logging import get_logger
from inspector.plc.config import RegisterMap, SerialConfig
from inspector.plc.records import DecodedResult, decode_result
from inspector.plc.register_server import COIL_SPACE, REGISTER_SPACE, RegisterServer
from inspector.plc.registers import PLC_INPUTS
from inspector.plc.simulator.program import PlcProgram, SimCycle
from inspector.plc.simulator.write_log import WRITE_LOG_LIMIT, WriteEvent, WriteLog

T = TypeVar("T")
CALL_TIMEOUT_S = 5.0
HEARTBEAT_S = 0.1  # well inside the daemon's default plc.heartbeat.plc_timeout_ms (1000)


class PlcSimulator:
    """Simulated PLC memory served over Modbus TCP (or RTU serial) from its own thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        device_id: int = 1,
        registers: RegisterMap | None = None,
        log_writes: bool = False,
        rtu_framing: bool = False,
        serial: SerialConfig | None = None,
        write_log_limit: int = WRITE_LOG_LIMIT,
        heartbeat_s: float | None = HEARTBEAT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.device_id = device_id
        self.registers = registers or RegisterMap()
        self._framer = FramerType.RTU if rtu_framing else FramerType.SOCKET
        self.serial = serial  # set: serve RTU on this serial line instead of TCP
        # Like the PLC the register map describes, it writes its heartbeat from start (and after a
        # restart); None: it never does (``play_heartbeat`` starts one later).
        self.heartbeat_s = heartbeat_s
        self._log = get_logger("inspector.plc.simulator")
        self._lock = threading.Lock()
        self.write_log = WriteLog(write_log_limit, log_writes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._served: RegisterServer | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self.program: PlcProgram | None = None
        self._cycles: list[SimCycle] = []
        self.listening_since: float | None = None  # monotonic: when the server last began accepting

    # Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> int:
        """Serve (on the configured port, or a free one with port 0); returns the port."""
        if self._thread is not None:
            raise PlcError("simulator already running")
        self._started.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._thread_main, name="inspector-plc-sim", daemon=True)
        self._thread.start()
        if not self._started.wait(CALL_TIMEOUT_S) or self._start_error is not None:
            self._thread.join(CALL_TIMEOUT_S)
            self._thread = None
            raise self._start_error or PlcError("PLC simulator did not start")
        return self.port

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            self._loop = None
            self._started.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        served = RegisterServer(
            self.host,
            self.port,
            self.device_id,
            on_write=self.write_log.record,
            framer=self._framer,
            serial=self.serial,
            # a PLC's memory: more than the map, and at least all of it
            register_count=max(REGISTER_SPACE, self.registers.end),
            coil_count=max(COIL_SPACE, self.registers.reject_coil + 1, self.registers.alarm_coil + 1),
        )
        try:
            self.port = await served.start()
        except PlcError as exc:
            self._start_error = exc
            return
        self.listening_since = time.monotonic()
        self._served = served
        self.program = PlcProgram(served, self.registers, self._cycles, self._lock)
        if self.heartbeat_s:
            self.program.start_heartbeat(self.heartbeat_s)
        self._log.info(
            "plc_sim.listening", at=served.where, host=self.host, port=self.port, device_id=self.device_id
        )
        self._started.set()
        await self._stop.wait()
        await self.program.stop()
        await served.stop()
        self._served = None
        self._log.info("plc_sim.stopped", port=self.port)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (the PLC is 'killed'); ``start`` again serves the same port and memory anew."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise PlcError(f"PLC simulator did not stop within {timeout} s")
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._served is not None

    def __enter__(self) -> PlcSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, make: Callable[[RegisterServer], Coroutine[Any, Any, T]]) -> T:
        """Run ``make(served)`` on the simulator's loop and wait for it (bounded)."""
        loop, served = self._loop, self._served
        if loop is None or served is None:
            raise PlcError("PLC simulator is not running")
        future = asyncio.run_coroutine_threadsafe(make(served), loop)
        return future.result(CALL_TIMEOUT_S)

    # Write log -----------------------------------------------------------------------------------

    def writes(self) -> list[WriteEvent]:
        return self.write_log.writes()

    def cycles(self) -> list[SimCycle]:
        """Results the simulated PLC read and acked in triggered mode, across restarts."""
        with self._lock:
            return list(self._cycles)

    def coil_rises(self, coil: int) -> int:
        """How many times a client switched ``coil`` on (pulses seen by the 'PLC')."""
        return self.write_log.coil_rises(coil)

    def coil_state(self, coil: int) -> bool:
        return self.write_log.coil_state(coil)

    def results(self) -> list[DecodedResult]:
        """Every result block written, decoded, in write order (re-writes included)."""
        regs = self.registers
        return [
            decode_result(list(w.values), regs.measurements)
            for w in self.writes()
            if w.function_code == 16 and w.address == regs.result and len(w.values) == regs.result_len
        ]

    # Memory and faults ---------------------------------------------------------------------------

    def read_registers(self, address: int, count: int) -> list[int]:
        return self.call(lambda s: s.read_registers(address, count))

    def write_registers(self, address: int, values: list[int]) -> None:
        self.call(lambda s: s.write_registers(address, values))

    def drop_connections(self) -> int:
        async def drop(s: RegisterServer) -> int:
            return s.drop_connections()

        return self.call(drop)

    def stop_answering(self, stalled: bool = True) -> None:
        async def stall(s: RegisterServer) -> None:
            s.stop_answering(stalled)

        self.call(stall)

    def exception_replies(self, code: int | None) -> None:
        """Answer every request with Modbus exception ``code`` (None: answer normally)."""

        async def set_code(s: RegisterServer) -> None:
            s.exception_code = code

        self.call(set_code)

    @property
    def clients(self) -> int:
        served = self._served
        return served.clients if served is not None else 0

    # PLC program -----------------------------------------------------------------------------

    def _program(self) -> PlcProgram:
        if self.program is None:
            raise PlcError("PLC simulator is not running")
        return self.program

    def play_handshake(self, period_s: float, first_part: int = 1, count: int | None = None) -> None:
        """Play the PLC side of the triggered handshake: one trigger every ``period_s``."""
        program = self._program()

        async def begin(_: RegisterServer) -> None:
            program.start_handshake(period_s, first_part, count)

        self.call(begin)

    def play_heartbeat(self, period_s: float) -> None:
        """Increment the PLC heartbeat register every ``period_s``."""
        program = self._program()

        async def begin(_: RegisterServer) -> None:
            program.start_heartbeat(period_s)

        self.call(begin)

    def stop_program(self) -> None:
        program = self._program()

        async def end(_: RegisterServer) -> None:
            await program.stop()

        self.call(end)

    def select_recipe(self, number: int) -> None:
        """Write the recipe request register, as a PLC changing products does."""
        self.write_registers(self.registers.plc_inputs + PLC_INPUTS.offset("recipe"), [number])

    def play_recipes(self, recipe_for: Callable[[int], int] | None) -> None:
        """The handshake writes ``recipe_for(part)`` into the recipe request before each trigger."""
        self._program().recipe_for = recipe_for

    def set_ack(self, enabled: bool) -> None:
        """Let the simulated PLC ack results (False: it reads them but never acks)."""
        self._program().ack_enabled = enabled
