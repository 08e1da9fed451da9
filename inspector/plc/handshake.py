"""Reads the PLC-written registers: trigger and part id, ack, PLC heartbeat.

Triggered mode: a rising trigger with the part id starts one inspection (busy,
held until the verdict is in and the PLC has dropped the trigger);
the part must get its verdict before ``inspect_timeout_ms`` or it is failed safe
(``DEADLINE``). A trigger while busy cannot be inspected and is failed safe at
once (``TRIGGER_OVERRUN``). A late verdict for a part already failed safe is
counted and dropped: the PLC has its answer for that part id. A trigger held high
longer than ``trigger_release_timeout_ms`` sets error 926: busy cannot fall, so
no further part can be triggered until the PLC drops it.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from inspector.errors import PlcError, UnknownRecipe
from inspector.messages import FailSafeCause, Verdict, failsafe_verdict
from inspector.plc.config import PLC_INPUTS_LEN, PlcConfig, PlcMode, PlcRole
from inspector.plc.connection import LinkConnection
from inspector.plc.link import PlcLink
from inspector.plc.records import PlcErrorCode, StatusBit, Trigger
from inspector.plc.registers import PLC_INPUTS, decode
from inspector.plc.state import OutputState
from inspector.plc.waits import wait_event

FAILED_MEMORY = 256  # part ids remembered after failing safe, to recognise late verdicts

# (part_id, verdict, t_capture, inspect_ms) -> queued for delivery
Deliver = Callable[[int, Verdict, float, float], None]


class RecipeSelector(Protocol):
    """The line's recipe switch as the PLC side uses it (``inspector.app.interfaces.RecipeControl``)."""

    def request(self, number: int, origin: str) -> None: ...


class InputWatcher:
    """Polls the PLC inputs every ``poll_ms`` and runs the trigger side of the handshake."""

    def __init__(
        self,
        config: PlcConfig,
        connection: LinkConnection,
        link: PlcLink,
        state: OutputState,
        deliver: Deliver,
        on_status_change: Callable[[], None],
        log: Any,
        recipes: RecipeSelector | None = None,
    ) -> None:
        self._config = config
        self._conn = connection
        self._link = link
        self._state = state
        self._deliver = deliver
        self._status_changed = on_status_change
        self._log = log
        self.triggers: queue.Queue[Trigger] = queue.Queue()
        self.ack = False
        self.fresh = False  # ack was read over the current connection
        self.changed = asyncio.Event()
        self.inflight: dict[int, float] = {}  # part id -> deadline (monotonic)
        self._failed: deque[int] = deque(maxlen=FAILED_MEMORY)
        self._prev_trigger: bool | None = None  # None: next read is a baseline
        self._last_part: int | None = None
        self._plc_beat: int | None = None
        self._plc_beat_at = time.monotonic()
        self._trigger_since: float | None = None  # trigger seen high since (triggered mode)
        self._trigger_reported = False
        self.accepting = True
        self._recipes = recipes
        self._recipe_seen: int | None = None  # the recipe request register as last read
        self.recipe_refused = False  # it names no recipe: triggers fail safe (910) until it does

    @property
    def watches_heartbeat(self) -> bool:
        """The PLC's heartbeat is watched: a timeout is set and there is a PLC (not role off)."""
        return self._config.heartbeat.plc_timeout_ms > 0 and self._config.role is not PlcRole.OFF

    @property
    def needed(self) -> bool:
        selects = self._recipes is not None and self._config.role is not PlcRole.OFF
        return self._config.mode is PlcMode.TRIGGERED or self.watches_heartbeat or selects

    @property
    def inputs_len(self) -> int:
        """Registers read per poll: the recipe request only on a line with recipes, so a PLC
        whose map ends before it (or holds other data there) works as before without them."""
        return PLC_INPUTS_LEN if self._recipes is not None else PLC_INPUTS.offset("recipe")

    async def run(self, stop: asyncio.Event) -> None:
        poll_s = self._config.handshake.poll_ms / 1000.0
        address = self._config.registers.plc_inputs
        while not stop.is_set():
            started = time.monotonic()
            if self._conn.is_up:
                epoch = self._conn.epoch
                try:
                    words = await self._conn.call(lambda: self._link.read_registers(address, self.inputs_len))
                except PlcError:
                    self._lost_inputs()
                else:
                    if self._conn.epoch == epoch:
                        self._process(words)
                    else:  # read over a connection that is gone: the PLC's memory may be new
                        self._lost_inputs()
            else:
                self._lost_inputs()
            self.check_deadlines()
            self._check_trigger_held()
            self._check_plc_heartbeat()
            await wait_event(stop, poll_s - (time.monotonic() - started))

    def _lost_inputs(self) -> None:
        self._prev_trigger = None
        self.fresh = False
        self._trigger_since, self._trigger_reported = None, False  # it could not see busy meanwhile

    def _process(self, words: list[int]) -> None:
        inputs = decode(PLC_INPUTS, [*words, 0][:PLC_INPUTS_LEN])  # recipe 0 when not read
        trigger = inputs["trigger"] != 0
        ack = inputs["ack"] != 0
        part = int(inputs["part_id"])
        recipe = self._recipe_request(int(inputs["recipe"]))
        if ack != self.ack or not self.fresh:
            self.ack = ack
            self.fresh = True
            self.changed.set()
        if self._prev_trigger is None:
            # First read after (re)connecting: a held trigger is new only if its part id is.
            rising = trigger and part != self._last_part
            self._plc_beat_at = time.monotonic()
        else:
            rising = trigger and not self._prev_trigger
        self._prev_trigger = trigger
        if not trigger:
            self._trigger_since, self._trigger_reported = None, False
        elif self._trigger_since is None:
            self._trigger_since = time.monotonic()
        if rising and self._config.mode is PlcMode.TRIGGERED and self.accepting:
            self._on_trigger(part, recipe)
        elif not trigger:
            self._set_idle_if_done()
        beat = inputs["heartbeat"]
        if beat != self._plc_beat:
            self._plc_beat = beat
            self._plc_beat_at = time.monotonic()

    def _failsafe(self, part: int, cause: FailSafeCause, message: str, t_capture: float) -> None:
        self._failed.append(part)
        self._deliver(
            part, failsafe_verdict(cause, message, self._config.failsafe.verdict_code), t_capture, 0.0
        )

    def _recipe_request(self, number: int) -> int | None:
        """A changed recipe request switches the line (any time: between parts by construction);
        the number when it changed now and was taken (a trigger read with it carries it)."""
        if number == self._recipe_seen or self._recipes is None:
            return None
        self._recipe_seen = number
        try:
            self._recipes.request(number, "plc")
        except UnknownRecipe:
            self.recipe_refused = True
            self._log.error("plc.recipe_refused", requested=number, active=self._state.recipe)
            self._state.raise_condition(PlcErrorCode.UNKNOWN_RECIPE)
            self._state.set_flag(StatusBit.RECIPE_REFUSED, True)
            self._status_changed()
            return None
        if self.recipe_refused:
            self.recipe_refused = False
            self._state.end_condition(PlcErrorCode.UNKNOWN_RECIPE)
            self._state.set_flag(StatusBit.RECIPE_REFUSED, False)
        self._state.recipe = number
        self._status_changed()
        return number

    def _on_trigger(self, part: int, recipe: int | None = None) -> None:
        now = time.monotonic()
        self._state.count(triggers=1)
        self._last_part = part
        if self.recipe_refused:
            self._log.error("plc.trigger_with_unknown_recipe", part_id=part, requested=self._recipe_seen)
            self._failsafe(part, FailSafeCause.UNKNOWN_RECIPE, "triggered with an unknown recipe", now)
            # Busy acks the trigger here too: without it a PLC that drops the trigger on busy, or
            # raises the next one right after the result, may never show this side a low trigger.
            if self._state.set_flag(StatusBit.BUSY, True):
                self._status_changed()
            return
        if self.inflight:
            self._state.count(missed_triggers=1)
            self._log.warning("plc.trigger_while_busy", part_id=part, busy_with=list(self.inflight))
            self._failsafe(part, FailSafeCause.TRIGGER_OVERRUN, "trigger while busy", now)
            return
        self.inflight[part] = now + self._config.handshake.inspect_timeout_ms / 1000.0
        self.triggers.put_nowait(Trigger(part_id=part, t_trigger=now, recipe=recipe))
        if self._state.set_flag(StatusBit.BUSY, True):
            self._status_changed()

    def _set_idle_if_done(self) -> None:
        # Busy doubles as trigger-ack (as on Cognex): it stays up until the PLC has dropped the
        # trigger, so the PLC cannot raise the next one before this side has seen it low.
        if self.inflight or self._prev_trigger:
            return
        if self._state.set_flag(StatusBit.BUSY, False):
            self._status_changed()

    def check_deadlines(self) -> None:
        now = time.monotonic()
        for part, deadline in list(self.inflight.items()):
            if now > deadline:
                del self.inflight[part]
                self._state.count(deadline_failsafes=1)
                self._log.error("plc.inspect_deadline", part_id=part)
                self._failsafe(part, FailSafeCause.DEADLINE, "no verdict by the deadline", now)
        self._set_idle_if_done()

    def claim(self, part: int) -> bool:
        """A verdict arrived for ``part``: True to deliver it, False if it is late (dropped)."""
        if part in self.inflight:
            del self.inflight[part]
            self._set_idle_if_done()
            return True
        if part in self._failed:
            self._state.count(late_verdicts=1)
            self._log.warning("plc.late_verdict_dropped", part_id=part)
            return False
        self._log.warning("plc.verdict_without_trigger", part_id=part)
        return True

    def fail_all(self, cause: FailSafeCause, message: str) -> int:
        """Fail safe every part still being inspected (shutdown). Returns the count."""
        now = time.monotonic()
        parts = list(self.inflight)
        for part in parts:
            del self.inflight[part]
            self._failsafe(part, cause, message, now)
        self._set_idle_if_done()
        return len(parts)

    def _check_trigger_held(self) -> None:
        since = self._trigger_since
        if self._config.mode is not PlcMode.TRIGGERED or since is None or self._trigger_reported:
            return
        timeout_ms = self._config.handshake.trigger_release_timeout_ms
        if (time.monotonic() - since) * 1000.0 <= timeout_ms:
            return
        self._trigger_reported = True  # once per held trigger, not once per poll
        self._state.error_code = PlcErrorCode.TRIGGER_RELEASE_TIMEOUT
        self._log.error("plc.handshake_timeout", step="TRIGGER_RELEASE_TIMEOUT", timeout_ms=timeout_ms)
        self._status_changed()

    def _check_plc_heartbeat(self) -> None:
        timeout_ms = self._config.heartbeat.plc_timeout_ms
        if not self.watches_heartbeat:
            return
        if not self._conn.is_up:
            return  # the link being down is its own alarm; judge the PLC's heartbeat over a live link
        alive = (time.monotonic() - self._plc_beat_at) * 1000.0 <= timeout_ms
        if alive == self._state.plc_alive:
            return
        self._state.plc_alive = alive
        if alive:
            self._log.info("plc.heartbeat_ok")
            self._state.end_condition(PlcErrorCode.PLC_HEARTBEAT_LOST)
        else:
            self._log.error("plc.heartbeat_stalled", timeout_ms=timeout_ms)
            self._state.raise_condition(PlcErrorCode.PLC_HEARTBEAT_LOST)  # no result clears it
        self._state.set_flag(StatusBit.PLC_HEARTBEAT_LOST, not alive)
        self._status_changed()
