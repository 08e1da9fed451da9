"""Real signals to the running line: the first drains and exits 0, a second cuts it short (non-zero)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.app.signals import EXIT_CLEAN, EXIT_UNCLEAN, run_app
from inspector.config.settings import InspectorConfig
from tests.support.logs import LogCapture
from tests.support.parts import BlobEngine, DefectRules, RecordingOutput, write_frames


def looping_config(folder: Path, deadline_s: float = 5.0) -> InspectorConfig:
    return InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(folder), "loop": True, "fps_limit": 50}],
        runtime={
            "poll_timeout_s": 0.02,
            "shutdown_deadline_s": deadline_s,
            "frames_queue": {"overflow": "block"},
        },
    )


def send_when(
    condition: Callable[[], bool], signals: list[int], app: App, gap_s: float = 0.05
) -> threading.Thread:
    """Signal this process once ``condition`` holds, while the line's handlers are in place. A line
    that never gets there (or already returned) is stopped through its control instead: the test
    then fails on its own asserts, and a signal never reaches a process without the handlers (it
    would end the test run itself)."""

    def run() -> None:
        deadline, met = time.monotonic() + 20, False
        while not met and time.monotonic() < deadline:
            met = condition()
            time.sleep(0 if met else 0.01)
        for signum in signals:
            if not met or signal.getsignal(signum) in (signal.SIG_DFL, None):
                app.control.request_shutdown("test: the line never reached the point to signal")
                return
            os.kill(os.getpid(), signum)
            time.sleep(gap_s)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_sigterm_drains_in_flight_frames_and_exits_0(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path, 4)
    out = RecordingOutput()
    app = App(build_line(looping_config(tmp_path), LineParts(BlobEngine(delay_s=0.02), DefectRules(), [out])))
    sender = send_when(lambda: len(out.messages) >= 5, [signal.SIGTERM], app)
    code = run_app(app)
    sender.join()
    assert code == EXIT_CLEAN
    captured = app.line.source_stats()[0].frames
    assert len(out.messages) == captured  # every captured frame got its verdict out
    assert logs.events("line_stopping")[0]["reason"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_second_signal_cuts_the_drain_short_and_exits_non_zero(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    engine = BlobEngine()
    out = RecordingOutput()
    app = App(build_line(looping_config(tmp_path, deadline_s=60.0), LineParts(engine, DefectRules(), [out])))

    def engine_hangs() -> bool:
        if len(out.messages) >= 2:
            engine.release.clear()  # the next inference hangs: the drain cannot finish
        infer = [s for s in app.line.stage_status() if s.name == "infer"]
        return not engine.release.is_set() and bool(infer) and infer[0].busy

    sender = send_when(engine_hangs, [signal.SIGINT, signal.SIGINT], app, gap_s=0.3)
    t0 = time.monotonic()
    code = run_app(app)
    sender.join()
    engine.release.set()
    assert code == EXIT_UNCLEAN
    assert time.monotonic() - t0 < 30  # not the 60 s deadline: the second signal ended it
