"""Soak and fault run: the whole line at full speed for a long time while faults are injected.

Not part of the normal test run (a script, like the benchmarks). It runs the real App
with the real engine on a small model, a synthetic PCB camera behind a fault
injector, and the PLC simulator on loopback as the PLC (client role, free run),
then reports memory at start and end, frames/verdicts accounted for, parts failed
safe and faults survived. Exit 0 only if no verdict was lost, dropped by the PLC
output (overrun) or left pending, every
requested fault was injected and recovered from (PLC link up and camera frames after
the last fault), the line stopped cleanly and its health was not failing at the end;
otherwise it prints why (tests/soak/judge.py).

--duration runs that long (default 300 s). --frames runs until that many frames were
captured, with the faults spread over the frames; with --duration as well, whichever
comes first ends the run.

    python tests/soak/soak.py --duration 3600 --plc-outages 100 --camera-faults 100   # the full run
    python tests/soak/soak.py --frames 1000000 --plc-outages 100 --camera-faults 100  # or by frames
    python tests/soak/soak.py --duration 300 --plc-outages 20 --camera-faults 20       # CI's short run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from faults import FaultPlan, FaultyCamera  # noqa: E402
from judge import PLC_FIGURES, failures, line_verdicts_lost, plc_verdicts_lost  # noqa: E402
from measure import RssTrend, gpu_mib, rss_mib  # noqa: E402
from soak_line import build_config, plc_outage, plc_simulator, tiny_model  # noqa: E402

NO_PROGRESS_S = 300.0  # no frame captured for this long: the line is hung, stop and fail
LINK_BACK_S = 15.0  # how long the PLC link may take to come back after the last outage


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--duration", type=float, default=None, help="seconds to run (default 300 unless --frames is given)"
    )
    p.add_argument("--frames", type=int, default=None, help="run until this many frames were captured")
    p.add_argument("--plc-outages", type=int, default=20, help="PLC outages spread over the run")
    p.add_argument("--camera-faults", type=int, default=20, help="camera faults spread over the run")
    p.add_argument("--model", type=Path, default=None, help="checkpoint (default: the shipped demo model)")
    p.add_argument("--imgsz", type=int, default=320, help="inference size (small: a fast soak)")
    p.add_argument("--device", default="auto", help="engine device: auto, cpu, cuda:N")
    p.add_argument("--batch", type=int, default=1, help="runtime batch size")
    p.add_argument("--size", default="640x480", help="camera frame size WxH")
    p.add_argument("--cpu-threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--archive", type=Path, default=None, help="reject archive dir (default: a temp dir)")
    p.add_argument(
        "--archive-quota-mib", type=int, default=64, help="archive quota (small: exercises deletion)"
    )
    p.add_argument("--log", type=Path, default=Path("soak-log.jsonl"), help="the daemon's JSON log lines")
    args = p.parse_args(argv)
    if args.frames is None and args.duration is None:
        args.duration = 300.0
    return args


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
    plc_stats = getattr(app.line.outputs.verdicts[0], "stats", None)
    if plc_stats is not None:
        s = plc_stats()
        plc = {k: getattr(s, k) for k in (*PLC_FIGURES, "errors", "reconnects", "late") if hasattr(s, k)}
        plc["failed_at_shutdown"] = logged_count(log, "plc.open_parts_failed_at_shutdown")
        out["plc"] = plc
        out["plc_verdicts_lost"] = plc_verdicts_lost(plc)
    else:
        out["plc_verdicts_lost"] = 0
    return out


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


def captured(app: Any) -> int:
    return sum(s.frames for s in app.line.source_stats())


def fault_plans(args: argparse.Namespace, sim: Any, camera: FaultyCamera, app: Any) -> list[FaultPlan]:
    """PLC outages and camera faults, spread over the frames in frames mode, else over the duration."""
    outages = [0]
    spread: dict[str, Any] = {}
    if args.frames is not None:
        spread = {"total_frames": args.frames, "progress": lambda: captured(app)}
    duration = args.duration or 0.0
    return [
        FaultPlan("plc", args.plc_outages, duration, lambda: plc_outage(sim, 0.5, outages), **spread),
        FaultPlan("camera", args.camera_faults, duration, camera.fault, **spread),
    ]


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


def run_line(args: argparse.Namespace, sim: Any) -> dict[str, Any]:
    """Start the line, inject the faults over the run, stop it; the raw figures."""
    from inspector.app import App, build_line
    from inspector.sources import build_source

    config = build_config(args, sim.port)
    camera = FaultyCamera(build_source(config.sources[0]))
    app = App(build_line(config, sources={"cam0": camera}))
    app.start()
    t0 = time.monotonic()
    start = {"rss_mib": rss_mib(), "gpu_mib": gpu_mib()}
    plans = fault_plans(args, sim, camera, app)
    trend = RssTrend()
    for part in (*plans, trend):
        part.start()
    stopper = None
    if args.duration is not None:
        stopper = threading.Timer(args.duration, app.request_shutdown, args=("soak duration",))
        stopper.start()
    try:
        ended = wait_for_line(app, args)
        for plan in plans:  # no fault during the final checks and the drain
            plan.stop()
        link_up = link_up_at_end(app)
        gpu_watchdog = app.line.watch.gpu
        end = {"rss_mib": rss_mib(), "gpu_mib": gpu_mib(gpu_watchdog), **trend.stop()}
        snap = app.line.watch.health.last
    finally:
        if stopper is not None:
            stopper.cancel()
        for plan in plans:
            plan.stop()
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
        "faults": {
            "plc_outages": plans[0].fired,
            "camera_faults": plans[1].fired,
            "camera_reconnects": sum(s.reconnects for s in app.line.source_stats()),
            "frames_after_last_camera_fault": camera.frames_since_fault,
            "injection_errors": plans[0].errors + plans[1].errors,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from inspector.logging import LogConfig, configure_logging

    args.model_path = tiny_model(args)
    if args.archive is None:
        args.archive = Path(tempfile.mkdtemp(prefix="soak-archive-"))
    with args.log.open("w", encoding="utf-8") as log_file:
        configure_logging(LogConfig(format="json", level="info", library_level="error"), stream=log_file)
        try:
            with plc_simulator() as sim:
                raw = run_line(args, sim)
        finally:
            configure_logging(LogConfig(level="warning"), stream=sys.stderr)
    app = raw.pop("app")
    report = {
        "model": str(args.model_path or "demo model"),
        "device": str(getattr(app.line.engine, "device", "?")),
        **{k: raw[k] for k in ("seconds", "ended", "start", "end")},
        **accounting(app, args.log),
        "faults": raw["faults"],
        "archive": dataclasses.asdict(app.line.archive.stats()) if app.line.archive is not None else None,
        **{k: raw[k] for k in ("health_at_end", "health_state_at_end", "plc_link_up_at_end")},
        "clean_stop": raw["clean"],
        "exit_code": app.exit_code,
    }
    requested = {"plc_outages": args.plc_outages, "camera_faults": args.camera_faults}
    report["failures"] = failures(report, requested, args.frames)
    report["ok"] = not report["failures"]
    return report


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    args = parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=1, default=str)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    print(
        f"soak: {report['answered']} verdicts in {report['seconds']} s ({report['fps']} fps), "
        f"lost {report['verdicts_lost']}, failed safe {report['failsafe']}, "
        f"faults survived {report['faults']['plc_outages']} PLC + "
        f"{report['faults']['camera_faults']} camera, "
        f"RSS {report['start']['rss_mib']:.0f} -> {report['end']['rss_mib']:.0f} MiB: "
        + ("OK" if report["ok"] else "FAILED"),
        file=sys.stderr,
    )
    for reason in report["failures"]:
        print(f"soak: FAILED: {reason}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
