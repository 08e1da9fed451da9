"""The demo's summary counts the fail-safes the PLC output made itself: parts past their free-run
deadline (900) and the late verdicts dropped after them, next to the pipeline's fail-safes."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.cli.demo import demo_config, summary
from inspector.config.settings import InspectorConfig
from inspector.plc import PlcOutput
from tests.support import wait_until
from tests.support.parts import BlobEngine, DefectRules, write_frames


def test_summary_shows_deadline_failsafes_and_late_verdicts(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    config = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}],
        runtime={"stats_interval_s": 5, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
        plc={"role": "off", "pulses": {"late_ms": 200}},  # as with --no-plc: counted, no I/O
    )
    engine, output = BlobEngine(), PlcOutput(config.plc)
    engine.release.clear()  # inference stalls: all three parts pass their deadline
    app = App(build_line(config, LineParts(engine, DefectRules(), [output])))
    app.start()
    timer = threading.Timer(30, app.request_shutdown, args=("test timeout",))
    timer.start()
    try:
        assert wait_until(lambda: output.stats().deadline_failsafes == 3, timeout=20)
    finally:
        engine.release.set()  # their verdicts come now, too late
        assert app.run_until_stopped()
        timer.cancel()
        timer.join()
    text = summary(app, Path("toy.pt"), False, None)
    assert "ALARM 0  (fail-safe 0)" in text  # the pipeline judged all three, in its own time
    assert "PLC        none" in text
    expected = "fail-safe at the PLC: 3 results, 3 of them past their deadline (900, no verdict in time); "
    assert expected + "3 late verdicts dropped" in text


def test_no_plc_keeps_the_demo_pulse_window(tmp_path: Path) -> None:
    args = argparse.Namespace(size="64x48", seed=0, device="cpu", frames=2, batch=1, verbose=False)
    with_sim, without = demo_config(args, tmp_path / "m.pt", 5020), demo_config(args, tmp_path / "m.pt", None)
    assert without.plc.role.value == "off" and with_sim.plc.role.value == "client"
    # a CPU demo takes ~200 ms a part: the default 100 ms window would fail every part safe (900)
    assert without.plc.pulses.late_ms == with_sim.plc.pulses.late_ms == 10000
