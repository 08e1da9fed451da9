"""The soak's daemon process: the real App and engine, a synthetic camera behind the fault
injector's switch, the PLC output against the PLC peer's port; nothing of the harness else.

tests/soak/soak.py starts it and measures this process's RSS from outside. SIGUSR1 is a camera
fault (the harness decides when). While it runs it rewrites ``--status`` once a second (phase,
frames captured), so the harness can follow it without a thread here; at the end it writes its
figures to ``--report`` (JSON) and exits 0, whatever the verdict (the harness judges).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from faults import FaultyCamera  # noqa: E402
from judge import PLC_FIGURES, line_verdicts_lost, plc_verdicts_lost  # noqa: E402
from measure import gpu_mib  # noqa: E402
from soak_line import add_line_args, build_config, tiny_model  # noqa: E402

NO_PROGRESS_S = 300.0  # no frame captured for this long: the line is hung, stop and fail
LINK_BACK_S = 15.0  # how long the PLC link may take to come back after the last outage


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    add_line_args(p)
    p.add_argument("--plc-port", type=int, required=True, help="the PLC peer's Modbus TCP port")
    p.add_argument("--status", type=Path, required=True, help="progress, rewritten every second")
    p.add_argument("--report", type=Path, required=True, help="the daemon's figures at the end")
    p.add_argument("--probe", type=Path, default=None, help="diagnostic: tracemalloc/malloc_info here")
    return p.parse_args(argv)


def write_status(path: Path, phase: str, frames: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"phase": phase, "captured": frames, "t": time.time()}))
    os.replace(tmp, path)  # the harness never reads half a file


def captured(app: Any) -> int:
    return sum(s.frames for s in app.line.source_stats())


def logged_count(log: Path, event: str) -> int:
    """The sum of ``count`` over the JSON log lines of ``event`` (figures the daemon only logs)."""
    total = 0
    with log.open(encoding="utf-8") as lines:
        for line in lines:
            if f'"{event}"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event:
                total += int(record.get("count", 0))
    return total


def accounting(app: Any, log: Path) -> dict[str, Any]:
    """Every captured frame is answered at the output (a dropped one as fail-safe 901), and every
    part the PLC output took on got exactly one result; the rest is lost (tests/soak/judge.py)."""
    frames = captured(app)
    total = app.line.stats.total()
    answered = int(total["frames"])
    out: dict[str, Any] = {
        "captured": frames,
        "answered": answered,
        "dropped_counted": sum(app.line.queue_drops().values()),
        "verdicts_lost": line_verdicts_lost(frames, answered),
        "failsafe": int(total["failsafe"]),
        "verdicts": total["verdicts"],
        "fps": total["fps"],
        "e2e_ms": total["latency_ms"].get("e2e", {}),
    }
    s = app.line.outputs.link_stats()
    if s is not None:
        plc = {k: getattr(s, k) for k in (*PLC_FIGURES, "errors", "reconnects", "late") if hasattr(s, k)}
        plc["failed_at_shutdown"] = logged_count(log, "plc.open_parts_failed_at_shutdown")
        out["plc"] = plc
        out["plc_verdicts_lost"] = plc_verdicts_lost(plc)
    else:
        out["plc_verdicts_lost"] = 0
    return out


def wait_for_line(app: Any, args: argparse.Namespace) -> str:
    """Until the duration is over, the frames are done, or the line stops or hangs; says which."""
    deadline = None if args.duration is None else time.monotonic() + args.duration + 60
    last, last_change = -1, time.monotonic()
    while deadline is None or time.monotonic() < deadline:
        if app.control.shutdown_requested.wait(1.0):
            reason = app.shutdown_reason
            return "duration" if reason == "soak duration" else f"shutdown requested: {reason}"
        output = app.line.delivery
        if app.finished.is_set() or (output is not None and not output.is_alive()):
            return "frames done" if args.frames is not None and captured(app) >= args.frames else "line ended"
        now, frames = time.monotonic(), captured(app)
        write_status(args.status, "running", frames)
        if frames != last:
            last, last_change = frames, now
        elif now - last_change > NO_PROGRESS_S:
            return f"no frame captured for {NO_PROGRESS_S:.0f} s"
    return "the duration timer did not stop the line"


def link_up_at_end(app: Any) -> bool:
    """The PLC link is up, or comes back within LINK_BACK_S (a recovery still in progress)."""
    output = app.line.outputs.verdicts[0]
    end = time.monotonic() + LINK_BACK_S
    while not getattr(output, "link_up", False):
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def run_line(args: argparse.Namespace) -> dict[str, Any]:
    """Start the line, let the harness inject its faults, stop it; the raw figures."""
    from inspector.app import App, build_line
    from inspector.sources import build_source

    config = build_config(args, args.plc_port)
    camera = FaultyCamera(build_source(config.sources[0]))
    signal.signal(signal.SIGUSR1, lambda *_: camera.fault())
    app = App(build_line(config, sources={"cam0": camera}))
    app.start()
    probe = None
    if args.probe is not None:
        from probe import Probe

        probe = Probe(args.probe)
        probe.start()
    t0 = time.monotonic()
    write_status(args.status, "running", 0)
    start = {"gpu_mib": gpu_mib()}
    stopper = None
    if args.duration is not None:
        stopper = threading.Timer(args.duration, app.request_shutdown, args=("soak duration",))
        stopper.start()
    try:
        ended = wait_for_line(app, args)
        write_status(args.status, "ending", captured(app))  # the harness stops its faults
        link_up = link_up_at_end(app)
        end = {"gpu_mib": gpu_mib(app.line.watch.gpu)}
        snap = app.line.watch.health.last
    finally:
        if stopper is not None:
            stopper.cancel()
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        if probe is not None:
            probe.stop()
        clean = app.run_until_stopped()
    return {
        "app": app,
        "seconds": round(time.monotonic() - t0, 1),
        "ended": ended,
        "start": start,
        "end": end,
        "health_at_end": snap.summary() if snap is not None else "unknown",
        "health_state_at_end": snap.state.label if snap is not None else "unknown",
        "plc_link_up_at_end": link_up,
        "clean": clean,
        "camera": {
            "camera_faults": camera.faults,
            "camera_reconnects": sum(s.reconnects for s in app.line.source_stats()),
            "frames_after_last_camera_fault": camera.frames_since_fault,
        },
    }


def report(args: argparse.Namespace, raw: dict[str, Any]) -> dict[str, Any]:
    app = raw.pop("app")
    return {
        "model": str(args.model_path or "demo model"),
        "device": str(getattr(app.line.engine, "device", "?")),
        **{k: raw[k] for k in ("seconds", "ended", "start", "end", "camera")},
        **accounting(app, args.log),
        "archive": dataclasses.asdict(app.line.archive.stats()) if app.line.archive is not None else None,
        **{k: raw[k] for k in ("health_at_end", "health_state_at_end", "plc_link_up_at_end")},
        "clean_stop": raw["clean"],
        "exit_code": app.exit_code,
        "heap_released_mib": round(app.line.watch.rss.released_mib, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from inspector.logging import LogConfig, configure_logging

    args = parse_args(argv)
    args.model_path = tiny_model(args)
    if args.archive is None:
        args.archive = Path(tempfile.mkdtemp(prefix="soak-archive-"))
    with args.log.open("w", encoding="utf-8") as log_file:
        configure_logging(LogConfig(format="json", level="info", library_level="error"), stream=log_file)
        raw = run_line(args)
        figures = report(args, raw)
    write_status(args.status, "stopped", figures["captured"])
    args.report.write_text(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
