"""Delivers results in order: one FC16 block write per part, then its pulse.

Free-run: write the block (sequence counter, part id, verdict, ... in one request)
and fire the pulse. Triggered: wait until the PLC's ack is low, write the block,
raise result-valid, wait for the ack, clear result-valid. A result leaves the
buffer only once delivered; on a link failure it stays at the head and is
written again after reconnecting (same sequence number, so the PLC can tell).

A result's pulse window is ``pulses.pulse_window``'s; written later, its block is flagged
late and no pulse fires (error 923, except that a fail-safe keeps its 9xx code: the PLC
must learn that the part was not inspected). A free-run deadline fail-safe brings its own
end (``accept(pulse_until=...)``): it is created as the window closes and must still pulse.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from inspector.errors import PlcError
from inspector.messages import FailSafeCause, VerdictCode
from inspector.plc.config import PlcConfig, PlcMode
from inspector.plc.connection import LinkConnection
from inspector.plc.handshake import InputWatcher
from inspector.plc.link import PlcLink
from inspector.plc.pulses import Pulser, pulse_window
from inspector.plc.records import (
    PlcErrorCode,
    ResultFlag,
    ResultRecord,
    StatusBit,
    encode_result,
    is_failsafe_cause,
)
from inspector.plc.state import OutputState
from inspector.plc.status import StatusWriter
from inspector.plc.waits import wait_any, wait_event

RETRY_S = 0.02


class Delivery:
    """The result buffer and the task that empties it into the PLC."""

    def __init__(
        self,
        config: PlcConfig,
        connection: LinkConnection,
        link: PlcLink,
        state: OutputState,
        status: StatusWriter,
        watcher: InputWatcher,
        pulser: Pulser,
        log: Any,
    ) -> None:
        self._config = config
        self._conn = connection
        self._link = link
        self._state = state
        self._status = status
        self._watcher = watcher
        self._pulser = pulser
        self._log = log
        self.pending: deque[ResultRecord] = deque()
        self._pulse_until: dict[int, float] = {}  # id(record) -> its own end of the pulse window
        self._pulsed_seq: int | None = None  # a re-posted result must not pulse twice
        self._refused_seq: int | None = None
        self._wake = asyncio.Event()
        triggered = config.mode is PlcMode.TRIGGERED
        self.capacity = config.handshake.buffer_depth if triggered else config.queue_size

    def accept(self, record: ResultRecord, pulse_until: float | None = None) -> None:
        """Queue a result; when the buffer is full the new result is dropped and flagged (overrun).

        ``pulse_until``: the monotonic time until which its pulse may still fire, when it is not
        the usual capture + delay + late window.
        """
        self._state.counters = self._state.counters.with_verdict(record.verdict, record.inspect_ms)
        if len(self.pending) >= self.capacity:
            self._state.count(dropped=1)
            self._state.dropped_since_last = True
            self._state.error_code = FailSafeCause.PLC_BUFFER_OVERRUN
            self._state.set_flag(StatusBit.OVERRUN, True)
            self._status.mark_dirty()
            self._log.error(
                "plc.result_dropped_overrun",
                part_id=record.part_id,
                verdict=record.verdict.code.name,
                buffered=len(self.pending),
            )
            return
        self.pending.append(record)
        if pulse_until is not None:
            self._pulse_until[id(record)] = pulse_until
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.pending:
                self._wake.clear()
                await wait_any([self._wake, stop])
                continue
            if not self._conn.is_up:
                await wait_any([self._conn.up, stop])
                continue
            record = self.pending[0]
            try:
                if self._config.mode is PlcMode.TRIGGERED:
                    await self._post(record, stop)
                else:
                    await self._write_result(record)
            except PlcError as exc:
                if self._refused_seq != record.seq:
                    self._refused_seq = record.seq  # one line per result, not one per retry
                    self._log.warning("plc.result_not_delivered_yet", part_id=record.part_id, error=str(exc))
                await wait_event(stop, RETRY_S)
                continue
            self.pending.popleft()
            self._pulse_until.pop(id(record), None)
            self._state.count(delivered=1)

    async def _write_result(self, record: ResultRecord) -> None:
        cfg = self._config
        window = pulse_window(cfg.pulses, record.t_capture, record.verdict.failsafe)
        until = self._pulse_until.get(id(record), window.until)
        due = window.due
        late = time.monotonic() > until
        flags = ResultFlag(0)
        if record.verdict.failsafe:
            flags |= ResultFlag.FAILSAFE
        if late:
            flags |= ResultFlag.LATE
        if self._state.dropped_since_last:
            flags |= ResultFlag.OVERRUN
        block = encode_result(record, self._state.counters, flags, cfg.registers.measurements)
        await self._conn.call(lambda: self._link.write_block(cfg.registers.result, block))
        await self._after_write(record, flags, late, due, until)

    async def _after_write(
        self, record: ResultRecord, flags: ResultFlag, late: bool, due: float, until: float
    ) -> None:
        state = self._state
        before = (state.status, state.error_code)
        if ResultFlag.OVERRUN in flags:
            state.dropped_since_last = False
            state.set_flag(StatusBit.OVERRUN, False)
        code = record.verdict.code
        needs_pulse = self._config.pulses.enabled and code in (VerdictCode.REJECT, VerdictCode.ALARM)
        failsafe = record.verdict.failsafe
        if late:
            state.count(late=1)
            self._log.error("plc.result_late", part_id=record.part_id, verdict=code.name, pulse=False)
        if failsafe:
            state.error_code = record.verdict.first_code  # late or not: the PLC learns why
        elif late:
            if not is_failsafe_cause(state.error_code):  # a part nobody inspected outranks lateness
                state.error_code = PlcErrorCode.RESULT_LATE
        elif state.error_code and not state.dropped_since_last:
            state.clear_error()
        if (state.status, state.error_code) != before:
            self._status.mark_dirty()
        if needs_pulse and not late and self._pulsed_seq != record.seq:
            self._pulsed_seq = record.seq
            pulses = self._config.pulses
            registers = self._config.registers
            if code is VerdictCode.REJECT:
                coil, kind, width = registers.reject_coil, "reject", pulses.reject_ms
            else:
                coil, kind, width = registers.alarm_coil, "alarm", pulses.alarm_ms
            await self._pulser.fire(coil, kind, due, width / 1000.0, until - due, record.part_id)

    async def _wait_ack(
        self, wanted: bool, timeout_ms: int, code: PlcErrorCode, stop: asyncio.Event, epoch: int
    ) -> None:
        """Wait for the PLC's ack to reach ``wanted``; past the timeout set ``code`` and keep waiting."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        reported = False
        while self._watcher.ack != wanted or not self._watcher.fresh:
            if stop.is_set() or not self._conn.is_up or self._conn.epoch != epoch:
                raise PlcError("handshake interrupted")
            self._watcher.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not reported:
                reported = True
                self._state.error_code = code
                self._status.mark_dirty()
                self._log.error("plc.handshake_timeout", step=code.name, timeout_ms=timeout_ms)
            await wait_event(self._watcher.changed, remaining if remaining > 0 else 0.05)

    async def _post(self, record: ResultRecord, stop: asyncio.Event) -> None:
        hs = self._config.handshake
        epoch = self._conn.epoch
        await self._wait_ack(False, hs.ack_release_timeout_ms, PlcErrorCode.ACK_RELEASE_TIMEOUT, stop, epoch)
        await self._write_result(record)
        if self._conn.epoch != epoch:
            raise PlcError("link reconnected during the post")
        self._state.set_flag(StatusBit.RESULT_VALID, True)
        try:
            await self._status.write()
            await self._wait_ack(True, hs.ack_timeout_ms, PlcErrorCode.ACK_TIMEOUT, stop, epoch)
        finally:
            # Either acked, or interrupted: in both cases this post is over (re-posted if not acked).
            self._state.set_flag(StatusBit.RESULT_VALID, False)
        try:
            await self._status.write()
        except PlcError:
            self._status.mark_dirty()  # acked already: the heartbeat writer clears result-valid later
