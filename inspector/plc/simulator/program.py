"""The PLC side of the handshake, played inside the simulator.

One cycle, as a PLC program would run it: write the part id with the trigger
raised; when the daemon shows busy (or already result-valid), drop the trigger;
when result-valid rises, read the result block, raise ack; when result-valid
falls, drop ack. Results posted without a trigger (buffered, fail-safe) are read
and acked the same way. Optionally also increments the PLC heartbeat register.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from inspector.plc.config import RegisterMap
from inspector.plc.records import DecodedResult, StatusBit, decode_result
from inspector.plc.register_server import RegisterServer
from inspector.plc.registers import PLC_INPUTS, U16_MAX, split_u32

STEP_S = 0.001


@dataclass(frozen=True, slots=True)
class SimCycle:
    """One result the simulated PLC read and acked (part id as triggered, and as echoed)."""

    triggered_part: int | None
    result: DecodedResult
    t_trigger: float | None
    t_result: float


class PlcProgram:
    """Handshake and heartbeat tasks running on the simulator's loop."""

    def __init__(
        self, served: RegisterServer, registers: RegisterMap, cycles: list[SimCycle], lock: threading.Lock
    ) -> None:
        self._served = served
        self._regs = registers
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._lock = lock
        self._cycles = cycles  # owned by the simulator: survives a kill and restart
        self.ack_enabled = True
        self.timeouts = 0
        self.recipe_for: Callable[[int], int] | None = None  # part id -> recipe written before its trigger

    def start_handshake(self, period_s: float, first_part: int = 1, count: int | None = None) -> None:
        self._tasks.append(asyncio.ensure_future(self._handshake(period_s, first_part, count)))

    def start_heartbeat(self, period_s: float) -> None:
        """Increment the PLC heartbeat register every ``period_s`` (replaces a running heartbeat)."""
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        self._heartbeat_task = asyncio.ensure_future(self._heartbeat(period_s))
        self._tasks.append(self._heartbeat_task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._heartbeat_task = None

    async def _status(self) -> StatusBit:
        return StatusBit((await self._served.read_registers(self._regs.status, 1))[0])

    async def _wait_status(self, bits: StatusBit, present: bool, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if bool(await self._status() & bits) == present:
                return True
            await asyncio.sleep(STEP_S)
        return False

    async def _set_inputs(self, offset: int, values: list[int]) -> None:
        await self._served.write_registers(self._regs.plc_inputs + offset, values)

    async def _take_result(self, triggered: int | None, t_trigger: float | None) -> DecodedResult:
        """Read the posted result, record it, and complete the ack step."""
        block = await self._served.read_registers(self._regs.result, self._regs.result_len)
        result = decode_result(block, self._regs.measurements)
        matched = triggered if result.part_id == triggered else None  # a PLC matches by part id echo
        with self._lock:
            self._cycles.append(SimCycle(matched, result, t_trigger, time.monotonic()))
        while not self.ack_enabled:
            await asyncio.sleep(STEP_S * 5)
        await self._set_inputs(PLC_INPUTS.offset("ack"), [1])
        await self._wait_status(StatusBit.RESULT_VALID, False, 2.0)
        await self._set_inputs(PLC_INPUTS.offset("ack"), [0])
        return result

    async def _cycle(self, part: int) -> bool:
        """Trigger ``part`` and wait for its result, acking any other result posted meanwhile."""
        started = time.monotonic()
        if not await self._wait_status(StatusBit.BUSY, False, 2.0):
            self.timeouts += 1  # busy never dropped: trigger anyway, the daemon reports the overrun
        if self.recipe_for is not None:  # the product of this part, written before its trigger
            await self._set_inputs(PLC_INPUTS.offset("recipe"), [self.recipe_for(part)])
        await self._set_inputs(PLC_INPUTS.offset("trigger"), [1, 0, *split_u32(part)])
        trigger_high = True
        deadline = started + 5.0
        while time.monotonic() < deadline:
            status = await self._status()
            if trigger_high and StatusBit.BUSY in status:
                await self._set_inputs(PLC_INPUTS.offset("trigger"), [0])
                trigger_high = False
            if StatusBit.RESULT_VALID in status:
                result = await self._take_result(part, started)
                if result.part_id == part:
                    break
            await asyncio.sleep(STEP_S)
        else:
            self.timeouts += 1
        if trigger_high:
            await self._set_inputs(PLC_INPUTS.offset("trigger"), [0])
        return True

    async def _handshake(self, period_s: float, first_part: int, count: int | None) -> None:
        part = first_part
        while count is None or part < first_part + count:
            started = time.monotonic()
            await self._cycle(part)
            part += 1
            await asyncio.sleep(max(0.0, period_s - (time.monotonic() - started)))
        while True:  # keep acking whatever is still posted (buffered, fail-safe)
            if await self._status() & StatusBit.RESULT_VALID:
                await self._take_result(None, None)
            await asyncio.sleep(STEP_S * 2)

    async def _heartbeat(self, period_s: float) -> None:
        beat = 0
        while True:
            beat = (beat + 1) & U16_MAX
            await self._set_inputs(PLC_INPUTS.offset("heartbeat"), [beat])
            await asyncio.sleep(period_s)
