"""The App: builds every stage from config, starts them, stops them in reverse order."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from inspector.app.build import Components, build_components, capture_mode
from inspector.app.capture import PartTrigger, SeqCounter, trigger_failsafe, trigger_source
from inspector.app.stage import StageStatus, failsafe_copy, log
from inspector.app.stages import OutputStage
from inspector.app.stats import StatsCollector
from inspector.app.stats_reporter import StatsReporter
from inspector.app.wiring import Line, check_sources, wire_line
from inspector.config.settings import InspectorConfig
from inspector.health.app_view import supervise
from inspector.health.supervisor import Supervisor
from inspector.messages import FailSafeCause, FrameMsg
from inspector.sources import FrameSource, SourceState

ABORT_GRACE_S = 1.0  # after a second signal, how long stages get to notice the hard stop


class App:
    """The running daemon. ``start()``, then ``run_until_stopped()`` or ``stop(deadline_s)``."""

    def __init__(
        self,
        config: InspectorConfig,
        components: Components | None = None,
        sources: Mapping[str, FrameSource] | None = None,
    ) -> None:
        check_sources(config)
        self.config = config
        self.rt = config.runtime
        self.capture_mode = capture_mode(config)
        self._given = components
        self.given_sources = dict(sources or {})
        self.components: Components | None = None
        self.stop_event = threading.Event()  # hard stop: drain deadline passed or abort
        self.intake_stop = threading.Event()  # no new frames or triggers
        self.shutdown_requested = threading.Event()
        self.finished = threading.Event()  # the output stage ended (all sources ended or stopped)
        self.stats = StatsCollector(self.rt.stats_window)
        self.line = Line()
        self.output_stage: OutputStage | None = None
        self.seq: SeqCounter | None = None  # the line's frame counter (fail-safe messages take one too)
        self.reporter: StatsReporter | None = None
        self.started_at: float | None = None
        self.clean_stop: bool | None = None
        self.shutdown_reason = "stop"
        self.aborted = False
        self.abort_deadline: float | None = None
        self._output_started = False
        self._reported_lost: bool | None = None
        self.supervisor: Supervisor | None = None  # watchdogs, health, sd_notify (inspector.health)
        self.exit_code: int | None = None  # set by a watchdog-requested restart

    # -- build -------------------------------------------------------------------------------
    def fail_safe_dropped(self, item: Any, counted: bool = False) -> None:
        """A frame dropped by a full queue is a part all the same: it reaches the output failed safe.
        ``counted``: dropped after the rules stage, whose history rules have counted it already."""
        if isinstance(item, FrameMsg) and self.output_stage is not None:
            failed = failsafe_copy(item, FailSafeCause.FRAME_DROPPED, "frame dropped (queue full)")
            self.output_stage.rescue(failed, counted=counted)

    def _build(self, parts: Components) -> None:
        self.output_stage = wire_line(self, parts)  # also sets self.seq, the line's frame counter

    def rescue(self, msg: FrameMsg) -> None:
        assert self.output_stage is not None
        self.output_stage.rescue(msg)

    def on_frame(self, delivered: int) -> None:
        """Called by the output stage after each frame (hook for callers; the line needs nothing)."""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Load the model, open the sources, start the output then the stages downstream-first.

        If anything fails, what was started is stopped again before the error propagates.
        """
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.shutdown_reason = "start failed"
            self.stop(deadline_s=2.0)
            raise
        log.info(
            "line_started",
            sources=[r.source_id for r in self.line.readers],
            stages=self.stage_names(),
            mode=self.capture_mode,
            batch_size=self.rt.batch_size,
            startup_s=round(time.monotonic() - t0, 3),
        )
        if self.supervisor is not None:
            self.supervisor.ready()  # READY=1: the model is loaded and warmed up, the line runs

    def _start(self) -> None:
        parts = self.components = self._given or build_components(self.config)
        self._build(parts)
        self.supervisor = supervise(self)
        for reader in self.line.readers:
            reader.open()
        parts.output.start()
        self._output_started = True
        self._reported_lost = self._camera_lost()
        parts.output.set_status(
            online=True, model_loaded=True, busy=False, fault=False, camera_lost=self._reported_lost
        )
        parts.output.set_healthy(True)
        for stage in self.line.stages:
            stage.start()
        self.reporter = StatsReporter(self, self.rt.stats_interval_s)
        self.reporter.start()
        self.supervisor.start()
        self.started_at = time.monotonic()
        self.stats.restart_clock()  # fps counts from here, not from model loading

    def request_shutdown(self, reason: str) -> None:
        """Ask for a graceful stop (signal handler safe: only sets events)."""
        if not self.shutdown_requested.is_set():
            self.shutdown_reason = reason
            self.shutdown_requested.set()

    def request_restart(self, exit_code: int, message: str) -> None:
        """A watchdog asks for a restart: drain like a SIGTERM, then exit ``exit_code`` (systemd restarts)."""
        if self.exit_code is None:
            self.exit_code = exit_code
        self.request_shutdown(f"watchdog restart: {message}")

    def run_until_stopped(self, deadline_s: float | None = None) -> bool:
        """Run until a shutdown is requested or every source ended; then stop. True on a clean stop."""
        while not self.shutdown_requested.is_set() and not self.finished.is_set():
            self.shutdown_requested.wait(0.2)
            if self.output_stage is not None and not self.output_stage.is_alive():
                self.finished.set()
        return self.stop(self.rt.shutdown_deadline_s if deadline_s is None else deadline_s)

    def stop(self, deadline_s: float) -> bool:
        """Stop intake, drain in-flight frames until ``deadline_s``, then stop everything in reverse order.

        True when every stage finished its drain in time (and no abort came).
        """
        if self.clean_stop is not None:
            return self.clean_stop
        end = time.monotonic() + deadline_s
        log.info("line_stopping", reason=self.shutdown_reason, deadline_s=deadline_s)
        if self.supervisor is not None:
            self.supervisor.stopping(self.shutdown_reason)
        self.intake_stop.set()
        # stages were started output-first; they end upstream-first as end markers flow down
        drained = self._join_all(end)
        if not drained:
            log.error(
                "drain_deadline_missed",
                deadline_s=deadline_s,
                aborted=self.stop_event.is_set(),
                stages=[s.stage_name for s in self.line.stages if s.is_alive()],
            )
            self.stop_event.set()
            self._join_all(time.monotonic() + max(4 * self.rt.poll_timeout_s, 1.0))
        self._fail_safe_leftovers()
        return self._final(drained and not self.aborted, deadline_s)

    def _join_all(self, end: float) -> bool:
        """Join stages upstream-first until ``end``, in slices so an abort cuts the wait short."""
        for stage in reversed(self.line.stages):
            if stage.ident is None:
                continue
            while stage.is_alive() and time.monotonic() < end:
                if self.abort_deadline is not None:
                    end = min(end, self.abort_deadline)
                stage.join(min(0.1, max(0.0, end - time.monotonic())))
        return not any(s.is_alive() for s in self.line.stages)

    def _fail_safe_leftovers(self) -> None:
        """Frames and triggers still queued after the stop are failed safe, never silently lost."""
        if self.output_stage is None:
            return
        for queue in self.line.queues.values():
            for item in queue.drain():
                if isinstance(item, FrameMsg):
                    msg = failsafe_copy(item, FailSafeCause.SHUTDOWN, "stopped before inspection")
                elif isinstance(item, PartTrigger):
                    seq = self.seq() if self.seq is not None else 0
                    why = "stopped before capture"
                    msg = trigger_failsafe(item, seq, trigger_source(queue), FailSafeCause.SHUTDOWN, why)
                else:
                    continue
                self.output_stage.rescue(msg)
        self.output_stage.deliver_rescued()

    def _final(self, clean: bool, deadline_s: float) -> bool:
        parts = self.components
        if self.reporter is not None:
            self.reporter.stop()
        for reader in self.line.readers:  # a capture stage that never started leaves its reader open
            reader.close()
        if self.supervisor is not None:  # scheduler, HTTP, archive
            self.supervisor.stop(self.shutdown_reason, timeout=max(0.5, min(5.0, deadline_s)))
        if parts is not None and self._output_started:
            parts.output.set_healthy(False)
            parts.output.set_status(online=False)
            parts.output.stop(timeout=max(1.0, min(5.0, deadline_s)))
        stuck = [s.stage_name for s in self.line.stages if s.is_alive()]
        self.clean_stop = clean and not stuck
        total = self.stats.total()
        log.info(
            "line_stopped",
            clean=self.clean_stop,
            stuck_stages=stuck,
            frames=total["frames"],
            verdicts=total["verdicts"],
            failsafe=total["failsafe"],
        )
        return self.clean_stop

    def abort(self) -> None:
        """Leave now (second signal): hard stop every stage; the stop reports unclean."""
        self.aborted = True
        self.abort_deadline = time.monotonic() + ABORT_GRACE_S
        self.intake_stop.set()
        self.stop_event.set()
        self.request_shutdown("abort")

    # -- introspection (stats, health, watchdog) ---------------------------------------------
    def stage_names(self) -> list[str]:
        return [s.stage_name for s in self.line.stages]

    def stage_status(self) -> list[StageStatus]:
        return [s.status() for s in self.line.stages]

    def queue_depths(self) -> dict[str, int]:
        return {name: q.depth() for name, q in self.line.queues.items()}

    def queue_drops(self) -> dict[str, int]:
        return {name: q.dropped for name, q in self.line.queues.items()}

    def source_stats(self) -> list[Any]:
        return [r.stats() for r in self.line.readers]

    def source_state_changed(self, source_id: str, state: SourceState) -> None:
        """Push camera-lost to the output (PLC status word) as soon as any source is lost or back."""
        lost = self._camera_lost()
        if self._output_started and self.components is not None and lost != self._reported_lost:
            self._reported_lost = lost
            try:
                self.components.output.set_status(camera_lost=lost)
            except Exception as exc:
                log.warning("output_status_failed", error=str(exc))

    def _camera_lost(self) -> bool:
        return any(r.state is SourceState.LOST for r in self.line.readers)
