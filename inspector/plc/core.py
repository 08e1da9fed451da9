"""The output stage's asyncio side: builds the link and runs its tasks on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from inspector.errors import PlcError
from inspector.messages import FailSafeCause, Verdict
from inspector.plc.client_link import ModbusClientLink
from inspector.plc.config import PlcConfig, PlcMode, PlcRole
from inspector.plc.connection import LinkConnection
from inspector.plc.delivery import Delivery
from inspector.plc.freerun import FreeRunTracker
from inspector.plc.handshake import InputWatcher, RecipeSelector
from inspector.plc.link import NullLink, PlcLink
from inspector.plc.pulses import Pulser
from inspector.plc.records import ResultRecord, StatusBit
from inspector.plc.server_link import ModbusServerLink
from inspector.plc.state import OutputState
from inspector.plc.status import StatusWriter

SEQ_WRAP = 0xFFFF


def make_link(config: PlcConfig) -> PlcLink:
    if config.role is PlcRole.CLIENT:
        return ModbusClientLink(config)
    if config.role is PlcRole.SERVER:
        return ModbusServerLink(config)
    return NullLink()


class OutputCore:
    """All PLC-side work; every method runs on the stage's event loop."""

    def __init__(
        self, config: PlcConfig, log: Any, recipes: RecipeSelector | None = None, recipe: int = 0
    ) -> None:
        self.config = config
        self.log = log
        self.state = OutputState(status=StatusBit.ONLINE, recipe=recipe)
        self.link = make_link(config)
        self.connection = LinkConnection(
            self.link,
            self.state,
            log,
            config.reconnect_min_ms / 1000.0,
            config.reconnect_max_ms / 1000.0,
            on_change=self._on_link_change,
        )
        self.status = StatusWriter(
            self.connection,
            self.link,
            self.state,
            config.registers.status,
            config.heartbeat.period_ms / 1000.0,
            log,
        )
        self.pulser = Pulser(self.connection, self.link, self.state, log)
        self.watcher = InputWatcher(
            config, self.connection, self.link, self.state, self.deliver, self.status.mark_dirty, log, recipes
        )
        self.delivery = Delivery(
            config, self.connection, self.link, self.state, self.status, self.watcher, self.pulser, log
        )
        self.tracker = FreeRunTracker(config, self.state, self.deliver, log)
        self.stop_event = asyncio.Event()
        self.finished = asyncio.Event()  # set when shutdown has completed
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []

    def _on_link_change(self, up: bool) -> None:
        if not up:
            # The PLC may come back with fresh memory: never show it result-valid for a block it
            # does not hold. The interrupted post is redone from the block write.
            self.state.set_flag(StatusBit.RESULT_VALID, False)
            self.watcher.fresh = False
            self.watcher.changed.set()
        self.status.mark_dirty()

    async def start(self) -> None:
        """Bind (server role) and start the tasks; raises PlcError when serving is impossible."""
        if self.config.role is PlcRole.SERVER:
            await self.link.connect()  # bind errors are the user's to see at start
        stop = self.stop_event
        self._tasks = [
            asyncio.ensure_future(self.connection.run(stop)),
            asyncio.ensure_future(self.status.run(stop)),
            asyncio.ensure_future(self.delivery.run(stop)),
        ]
        if self.watcher.needed:
            self._tasks.append(asyncio.ensure_future(self.watcher.run(stop)))
        if self.config.role is PlcRole.OFF and self.config.mode is PlcMode.TRIGGERED:
            self.log.warning("plc.no_triggers", note="plc.mode is triggered but plc.role is off")
        self.log.info(
            "plc.started",
            role=self.config.role.value,
            mode=self.config.mode.value,
            link=self.link.description,
        )

    def deliver(
        self,
        part_id: int,
        verdict: Verdict,
        t_capture: float,
        inspect_ms: float,
        pulse_until: float | None = None,
        recipe: int | None = None,
    ) -> None:
        """``recipe``: the one the part was judged by (None: a part failed safe here, by the
        recipe active now)."""
        self._seq = self._seq % SEQ_WRAP + 1  # 1..65535: 0 means "no result yet" to the PLC
        recipe = self.state.recipe if recipe is None else recipe
        record = ResultRecord(self._seq, part_id, verdict, t_capture, inspect_ms, recipe)
        self.delivery.accept(record, pulse_until)

    def captured(self, seq: int, t_capture: float) -> None:
        """Free run: frame ``seq`` was captured; it is a part with a deadline from now on."""
        if self.config.mode is PlcMode.FREE_RUN:
            self.tracker.captured(seq, t_capture)

    def accept_verdict(
        self, part_id: int, verdict: Verdict, t_capture: float, t_verdict: float, recipe: int = 0
    ) -> None:
        """A verdict from the pipeline (called through call_soon_threadsafe)."""
        self.state.count(submitted=1)
        inspect_ms = max(0.0, (t_verdict - t_capture) * 1000.0)
        if self.config.mode is PlcMode.FREE_RUN:
            self.tracker.resolve(part_id, verdict, t_capture, inspect_ms, recipe)
        elif self.watcher.claim(part_id):
            self.deliver(part_id, verdict, t_capture, inspect_ms, recipe=recipe)

    def recipe_changed(self, number: int) -> None:
        """The active recipe is ``number`` now: the acknowledge register shows it."""
        self.state.recipe = number
        self.status.mark_dirty()

    def set_flags(self, flags: StatusBit, mask: StatusBit) -> None:
        self.state.status = (self.state.status & ~mask) | (flags & mask)
        self.status.mark_dirty()

    def set_healthy(self, healthy: bool) -> None:
        self.state.healthy = healthy

    async def shutdown(self, deadline: float) -> None:
        """Fail safe open parts, flush results until the deadline, go offline, close the link."""
        self.watcher.accepting = False
        triggered = self.watcher.fail_all(FailSafeCause.SHUTDOWN, "daemon stopping")
        free_run = self.tracker.fail_all(FailSafeCause.SHUTDOWN, "daemon stopping")
        for mode, open_parts in (("triggered", triggered), ("free_run", free_run)):
            if open_parts:
                self.state.count(failed_at_shutdown=open_parts)
                self.log.error("plc.open_parts_failed_at_shutdown", count=open_parts, mode=mode)
        flush_until = deadline - 0.3
        # Not only while the link is up: one reply past timeout_ms (a busy host) drops it, and it
        # is back within its backoff. Give up early only when a connect fails (nobody listening).
        while self.delivery.pending and time.monotonic() < flush_until and self.connection.reachable:
            await asyncio.sleep(0.005)
        await self.pulser.stop(max(0.05, min(1.0, deadline - time.monotonic() - 0.2)))
        self.stop_event.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=max(0.1, deadline - time.monotonic()))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        left = list(self.delivery.pending)
        if left:
            self.log.error(
                "plc.undelivered_at_shutdown", count=len(left), part_ids=[r.part_id for r in left][:50]
            )
        self.state.status &= ~(StatusBit.ONLINE | StatusBit.BUSY | StatusBit.RESULT_VALID)
        if self.connection.is_up:
            with contextlib.suppress(PlcError, asyncio.TimeoutError):
                await asyncio.wait_for(self.status.write(), timeout=0.5)
        await self.link.close()
        self.log.info(
            "plc.stopped", delivered=self.state.counters.delivered, dropped=self.state.counters.dropped
        )
