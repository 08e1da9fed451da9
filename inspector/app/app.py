"""The App: starts a built ``Line``, runs it, and stops it in reverse order within a deadline."""

from __future__ import annotations

import threading
import time

from inspector.app.capture import PartTrigger, trigger_failsafe, trigger_source
from inspector.app.line import Line
from inspector.app.stage_thread import failsafe_copy, log
from inspector.messages import FailSafeCause, FrameMsg


class App:
    """The running daemon. ``start()``, then ``run_until_stopped()`` or ``stop(deadline_s)``."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.control = line.control
        self.finished = threading.Event()  # the delivery stage ended (all sources ended or stopped)
        self.clean_stop: bool | None = None

    @property
    def shutdown_reason(self) -> str:
        return self.control.shutdown_reason

    @property
    def exit_code(self) -> int | None:
        """Set by a watchdog-requested restart (``inspector.watchdog.restart``)."""
        return self.control.exit_code

    def request_shutdown(self, reason: str) -> None:
        """Ask for a graceful stop (signal handler safe: only sets events)."""
        self.control.request_shutdown(reason)

    def abort(self) -> None:
        """Leave now (second signal): hard stop every stage; the stop reports unclean."""
        self.control.abort()

    # -- start -------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the sources, start the outputs, then the stages downstream-first, the stats and
        the watch. If anything fails, what was started is stopped again before the error propagates.
        """
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.control.shutdown_reason = "start failed"
            self.stop(deadline_s=2.0)
            raise
        line = self.line
        log.info(
            "line_started",
            sources=[r.source_id for r in line.readers],
            stages=line.stage_names(),
            mode=line.capture_mode,
            batch_size=line.config.runtime.batch_size,
            startup_s=round(time.monotonic() - t0, 3),
        )
        line.watch.ready()  # READY=1: the model is loaded and warmed up, the line runs

    def _start(self) -> None:
        line = self.line
        line.outputs.start_records()  # the archive: a bad dir fails the start before any camera opens
        for reader in line.readers:
            reader.open()
        line.outputs.start_verdicts()
        camera_lost = line.camera_status.reporting()
        line.outputs.set_status(
            online=True, model_loaded=True, busy=False, fault=False, camera_lost=camera_lost
        )
        line.outputs.set_healthy(True)
        for stage in line.stages:
            stage.start()
        line.reporter.start()
        line.watch.start()
        line.stats.restart_clock()  # fps counts from here, not from model loading

    # -- run and stop ------------------------------------------------------------------------
    def run_until_stopped(self, deadline_s: float | None = None) -> bool:
        """Run until a shutdown is requested or every source ended; then stop. True on a clean stop."""
        requested = self.control.shutdown_requested
        while not requested.is_set() and not self.finished.is_set():
            requested.wait(0.2)
            if not self.line.delivery.is_alive():
                self.finished.set()
        rt = self.line.config.runtime
        return self.stop(rt.shutdown_deadline_s if deadline_s is None else deadline_s)

    def stop(self, deadline_s: float) -> bool:
        """Stop intake, drain in-flight frames until ``deadline_s``, then stop everything in reverse order.

        True when every stage finished its drain in time (and no abort came).
        """
        if self.clean_stop is not None:
            return self.clean_stop
        control, line = self.control, self.line
        end = time.monotonic() + deadline_s
        log.info("line_stopping", reason=control.shutdown_reason, deadline_s=deadline_s)
        line.watch.stopping(control.shutdown_reason)
        control.intake_stop.set()
        # stages were started delivery-first; they end upstream-first as end markers flow down
        drained = self._join_all(end)
        if not drained:
            log.error(
                "drain_deadline_missed",
                deadline_s=deadline_s,
                aborted=control.stop.is_set(),
                stages=[s.stage_name for s in line.stages if s.is_alive()],
            )
            control.stop.set()
            self._join_all(time.monotonic() + max(4 * line.config.runtime.poll_timeout_s, 1.0))
        self._fail_safe_leftovers()
        return self._final(drained and not control.aborted, deadline_s)

    def _join_all(self, end: float) -> bool:
        """Join stages upstream-first until ``end``, in slices so an abort cuts the wait short."""
        for stage in reversed(self.line.stages):
            if stage.ident is None:
                continue
            while stage.is_alive() and time.monotonic() < end:
                if self.control.abort_deadline is not None:
                    end = min(end, self.control.abort_deadline)
                stage.join(min(0.1, max(0.0, end - time.monotonic())))
        return not any(s.is_alive() for s in self.line.stages)

    def _fail_safe_leftovers(self) -> None:
        """Frames and triggers still queued after the stop are failed safe, never silently lost."""
        line = self.line
        for queue in line.queues.values():
            for item in queue.drain():
                if isinstance(item, FrameMsg):
                    msg = failsafe_copy(item, FailSafeCause.SHUTDOWN, "stopped before inspection")
                elif isinstance(item, PartTrigger):
                    why = "stopped before capture"
                    msg = trigger_failsafe(
                        item, line.seq(), trigger_source(queue), FailSafeCause.SHUTDOWN, why
                    )
                else:
                    continue
                line.lane.rescue(msg)
        line.delivery.deliver_rescued()

    def _final(self, clean: bool, deadline_s: float) -> bool:
        """Stop what was started, last started first: the watch, the stats, the cameras, the outputs."""
        line = self.line
        line.watch.stop(self.control.shutdown_reason)
        if line.reporter.ident is not None:
            line.reporter.stop()
        for reader in line.readers:  # a capture stage that never started leaves its reader open
            reader.close()
        line.outputs.stop(timeout=max(1.0, min(5.0, deadline_s)))
        stuck = [s.stage_name for s in line.stages if s.is_alive()]
        self.clean_stop = clean and not stuck
        total = line.stats.total()
        log.info(
            "line_stopped",
            clean=self.clean_stop,
            stuck_stages=stuck,
            frames=total["frames"],
            verdicts=total["verdicts"],
            failsafe=total["failsafe"],
        )
        return self.clean_stop
