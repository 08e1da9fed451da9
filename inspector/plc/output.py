"""``PlcOutput``: the pipeline's last stage, with its own thread and asyncio loop.

The pipeline calls ``submit`` (never blocks: it hands a small record to the loop
and returns); all Modbus I/O happens on the stage's thread, so a slow or dead
PLC can never stall inference. In triggered mode the runtime polls
``next_trigger`` for the parts to capture; in free run the capture side announces
each frame (``captured``) so a part without a verdict is failed safe by its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from typing import Any

from inspector.errors import PlcError
from inspector.logging import get_logger
from inspector.messages import EndOfStream, FailSafeCause, FrameMsg, failsafe_verdict
from inspector.plc.config import PlcConfig, PlcMode, PlcRole
from inspector.plc.core import OutputCore
from inspector.plc.handshake import RecipeSelector
from inspector.plc.records import EXTERNAL_FLAGS, StatusBit, Trigger
from inspector.plc.state import OutputState
from inspector.plc.stats import PlcStats

START_TIMEOUT_S = 10.0


class PlcOutput:
    """Sends verdicts to the PLC; exposes link state and statistics for health."""

    def __init__(self, config: PlcConfig) -> None:
        self.config = config
        self._log = get_logger("inspector.plc")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._core: OutputCore | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = False
        self._recipes: RecipeSelector | None = None
        self._recipe = 0

    def attach_recipes(self, recipes: RecipeSelector, active: int) -> None:
        """Before ``start``: the recipe request register drives ``recipes``; ``active`` is the
        recipe shown in the acknowledge register until ``recipe_changed`` says otherwise."""
        self._recipes, self._recipe = recipes, active

    def recipe_changed(self, number: int) -> None:
        """The line switched to recipe ``number`` (from any origin); never blocks."""
        self._recipe = number
        if self._core is not None:
            self._call(self._core.recipe_changed, number)

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise PlcError("PLC output already started")
        self._thread = threading.Thread(target=self._thread_main, name="inspector-plc", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise PlcError(f"PLC output did not start within {START_TIMEOUT_S:.0f} s")
        if self._start_error is not None:
            self._thread.join(START_TIMEOUT_S)
            raise self._start_error

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            self._ready.set()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            core = OutputCore(self.config, self._log, self._recipes, self._recipe)
            await core.start()
        except Exception as exc:  # reported to start()'s caller, which re-raises it
            self._start_error = exc if isinstance(exc, PlcError) else PlcError(f"PLC output failed: {exc}")
            self._ready.set()
            return
        self._core = core
        self._loop = loop
        self._ready.set()
        await core.finished.wait()

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what can be flushed within ``timeout``, fail safe open parts, stop the thread."""
        thread, loop, core = self._thread, self._loop, self._core
        if thread is None:
            return
        if loop is not None and core is not None and not self._stopping:
            self._stopping = True
            deadline = time.monotonic() + max(0.2, timeout - 0.2)
            with contextlib.suppress(RuntimeError):  # loop already closed
                asyncio.run_coroutine_threadsafe(self._shutdown(core, deadline), loop)
        thread.join(timeout)
        if thread.is_alive():
            self._log.error("plc.stop_timeout", timeout_s=timeout)
        else:
            self._thread = None

    async def _shutdown(self, core: OutputCore, deadline: float) -> None:
        try:
            await core.shutdown(deadline)
        finally:
            core.stop_event.set()
            core.finished.set()

    # Pipeline side -----------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any) -> bool:
        loop = self._loop
        if loop is None or self._stopping:
            return False
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed under us
            return False
        return True

    def submit(self, msg: FrameMsg | EndOfStream) -> None:
        """Hand one part's verdict to the PLC side; never blocks. A missing verdict fails safe."""
        if isinstance(msg, EndOfStream):
            return
        core = self._core
        verdict = msg.verdict
        if verdict is None:
            verdict = failsafe_verdict(
                FailSafeCause.RULES_ERROR,
                "frame reached the PLC stage without a verdict",
                self.config.failsafe.verdict_code,
            )
        part_id = msg.part_id if msg.part_id is not None else msg.seq
        if core is None or not self._call(
            core.accept_verdict, part_id, verdict, msg.t_capture, time.monotonic(), msg.recipe
        ):
            self._log.error("plc.submit_while_stopped", part_id=part_id, verdict=verdict.code.name)

    def captured(self, seq: int, t_capture: float) -> None:
        """Free run: frame ``seq`` was captured at ``t_capture`` (monotonic); never blocks.

        From now on it is a part: if no verdict comes before its pulse window closes, it is
        failed safe then (code 900). Ignored in triggered mode (the trigger opened the part).
        """
        core = self._core
        if core is not None and self.config.mode is PlcMode.FREE_RUN:
            self._call(core.captured, seq, t_capture)

    def next_trigger(self, timeout: float) -> Trigger | None:
        """Triggered mode: the next part to capture, or None after ``timeout`` seconds."""
        core = self._core
        if core is None:
            time.sleep(max(0.0, min(timeout, 0.05)))
            return None
        try:
            return core.watcher.triggers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def set_status(self, **flags: bool) -> None:
        """Set status-word flags: online, busy, fault, degraded, camera_lost, model_loaded."""
        unknown = set(flags) - set(EXTERNAL_FLAGS)
        if unknown:
            raise ValueError(f"unknown PLC status flags: {sorted(unknown)}")
        value, mask = StatusBit(0), StatusBit(0)
        for name, on in flags.items():
            mask |= EXTERNAL_FLAGS[name]
            if on:
                value |= EXTERNAL_FLAGS[name]
        if self._core is not None:
            self._call(self._core.set_flags, value, mask)

    def set_healthy(self, healthy: bool) -> None:
        """The heartbeat counter advances only while healthy."""
        if self._core is not None:
            self._call(self._core.set_healthy, bool(healthy))

    # Health side -------------------------------------------------------------------------------

    @property
    def link_up(self) -> bool:
        core = self._core
        if core is None or self._thread is None:
            return False
        if self.config.role is PlcRole.OFF:
            return True
        return core.connection.is_up

    def stats(self) -> PlcStats:
        core = self._core
        state = core.state if core is not None else OutputState()
        return PlcStats(
            **state.counters.as_dict(),
            role=self.config.role.value,
            mode=self.config.mode.value,
            link=core.link.description if core is not None else "not started",
            link_up=self.link_up,
            plc_alive=state.plc_alive,
            plc_clients=core.link.clients if core is not None else 0,
            pending=len(core.delivery.pending) if core is not None else 0,
            last_error=state.last_error,
            error_code=int(state.error_code),
            status_word=int(state.status),
        )
