"""Soak and fault run: the whole line at full speed for a long time while faults are injected.

Not part of the normal test run (a script, like the benchmarks). Three processes, so that the
memory measured is the daemon's alone: the daemon (tests/soak/daemon.py: the real App with the
real engine on a small model, a synthetic PCB camera behind a fault switch, the PLC output in
client role, free run), the PLC simulator on loopback (tests/soak/plc_peer.py), and this one,
which injects the faults (PLC outages through the peer, camera faults by SIGUSR1 to the daemon)
and samples the daemon's RSS from /proc. It reports memory at start and end with the slopes of
the first and second half, frames/verdicts accounted for, parts failed safe and faults survived.
Exit 0 only if no verdict was lost, dropped by the PLC output (overrun) or left pending, every
requested fault was injected and recovered from (PLC link up and camera frames after the last
fault), the line stopped cleanly and its health was not failing at the end; otherwise it prints
why (tests/soak/judge.py). The memory slope is reported with its standard error; it does not
decide pass or fail (a short run's slope is warm-up).

--probe DIR is a diagnostic, not a measurement: the daemon traces its Python allocations
(tracemalloc, which costs CPU and memory) and dumps the growth and glibc's malloc_info to DIR.

--duration runs that long (default 300 s). --frames runs until that many frames were
captured, with the faults spread over the frames; with --duration as well, whichever
comes first ends the run.

    python tests/soak/soak.py --duration 3600 --plc-outages 100 --camera-faults 100   # the full run
    python tests/soak/soak.py --frames 1000000 --plc-outages 100 --camera-faults 100  # or by frames
    python tests/soak/soak.py --duration 300 --plc-outages 20 --camera-faults 20       # CI's short run
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from faults import FaultPlan  # noqa: E402
from judge import failures  # noqa: E402
from measure import RssTrend, rss_mib  # noqa: E402
from plc_peer import PlcPeer  # noqa: E402
from soak_line import add_line_args, line_argv, plc_outage  # noqa: E402

START_TIMEOUT_S = 900.0  # model load and warm-up on a busy machine
STALE_S = 300.0  # the daemon rewrites its status every second; this long without: hung, kill it
DRAIN_TIMEOUT_S = 300.0  # after "ending": link check, drain and report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_line_args(p)
    p.add_argument("--plc-outages", type=int, default=20, help="PLC outages spread over the run")
    p.add_argument("--camera-faults", type=int, default=20, help="camera faults spread over the run")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument(
        "--probe", type=Path, default=None, help="diagnostic: the daemon dumps tracemalloc/malloc_info here"
    )
    args = p.parse_args(argv)
    if args.frames is None and args.duration is None:
        args.duration = 300.0
    return args


class Daemon:
    """The daemon process (tests/soak/daemon.py) and the files it reports through."""

    def __init__(self, args: argparse.Namespace, plc_port: int, folder: Path) -> None:
        self.status_path, self.report_path = folder / "status.json", folder / "report.json"
        command = [sys.executable, str(Path(__file__).with_name("daemon.py")), *line_argv(args)]
        command += ["--plc-port", str(plc_port), "--status", str(self.status_path)]
        command += ["--report", str(self.report_path)]
        if args.probe is not None:
            command += ["--probe", str(args.probe)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def status(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.status_path.read_text()))
        except (OSError, ValueError):
            return {}

    def captured(self) -> int:
        return int(self.status().get("captured", 0))

    def camera_fault(self) -> None:
        os.kill(self.pid, signal.SIGUSR1)

    def wait_for(self, phases: tuple[str, ...], timeout: float) -> str:
        """Until the status reaches one of ``phases``, the process exits, or it hangs; says which."""
        end, seen = time.monotonic() + timeout, time.time()
        while time.monotonic() < end:
            status = self.status()
            if status.get("phase") in phases:
                return str(status["phase"])
            if self.proc.poll() is not None:
                return f"daemon exited ({self.proc.returncode})"
            seen = float(status.get("t", seen))
            if status and time.time() - seen > STALE_S:
                return f"daemon status not updated for {STALE_S:.0f} s"
            time.sleep(1.0)
        return f"daemon not {'/'.join(phases)} within {timeout:.0f} s"

    def stop(self) -> int:
        """Wait for it to exit (it stops itself); kill it when it does not."""
        try:
            return self.proc.wait(DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)


def fault_plans(args: argparse.Namespace, peer: PlcPeer, daemon: Daemon) -> list[FaultPlan]:
    """PLC outages and camera faults, spread over the frames in frames mode, else over the duration."""
    outages = [0]
    spread: dict[str, Any] = {}
    if args.frames is not None:
        spread = {"total_frames": args.frames, "progress": daemon.captured}
    duration = args.duration or 0.0
    return [
        FaultPlan("plc", args.plc_outages, duration, lambda: plc_outage(peer, 0.5, outages), **spread),
        FaultPlan("camera", args.camera_faults, duration, daemon.camera_fault, **spread),
    ]


def run_daemon(args: argparse.Namespace, peer: PlcPeer, folder: Path) -> dict[str, Any]:
    """Start the daemon, inject the faults and sample its RSS until it ends; the raw figures."""
    daemon = Daemon(args, peer.port, folder)
    out: dict[str, Any] = {"daemon_pid": daemon.pid, "plc_peer_pid": peer.pid, "harness_errors": []}
    plans: list[FaultPlan] = []
    try:
        started = daemon.wait_for(("running",), START_TIMEOUT_S)
        if started != "running":
            out["harness_errors"].append(f"the daemon did not start: {started}")
            return out
        out["start"] = {"rss_mib": round(rss_mib(daemon.pid), 1)}
        plans = fault_plans(args, peer, daemon)
        trend = RssTrend(daemon.pid, period_s=1.0)  # many samples: the sawtooth of heap trims averages
        for part in (*plans, trend):
            part.start()
        limit = (args.duration + 600) if args.duration is not None else float("inf")
        ended = daemon.wait_for(("ending", "stopped"), limit)
        for plan in plans:  # no fault during the daemon's final checks and its drain
            plan.stop()
        if ended not in ("ending", "stopped"):
            out["harness_errors"].append(f"the daemon did not end its run: {ended}")
        out["end"] = {"rss_mib": round(rss_mib(daemon.pid), 1) if daemon.proc.poll() is None else None}
        out["end"].update(trend.stop())
        out["rss_samples"] = [(round(t), round(v, 1)) for t, v in trend.samples]
        out["anon_samples"] = [(round(t), round(v, 1)) for t, v in trend.anon_samples]
    finally:
        for plan in plans:
            plan.stop()
        out["daemon_exit"] = daemon.stop()
    out["faults"] = {
        "plc_outages": plans[0].fired,
        "camera_faults_sent": plans[1].fired,
        "injection_errors": plans[0].errors + plans[1].errors,
    }
    if daemon.report_path.exists():
        out["daemon"] = json.loads(daemon.report_path.read_text())
    return out


def merge(raw: dict[str, Any]) -> dict[str, Any]:
    """The daemon's own figures with the harness's (RSS, faults sent) in one report."""
    report: dict[str, Any] = dict(raw.pop("daemon", {}))
    camera = report.pop("camera", {})
    for phase in ("start", "end"):
        report[phase] = {**raw.get(phase, {}), **report.get(phase, {})}
    faults = {"plc_outages": 0, "camera_faults_sent": 0, "injection_errors": [], **raw.get("faults", {})}
    faults = {"camera_faults": 0, "frames_after_last_camera_fault": 0, **faults, **camera}
    if faults["camera_faults"] < faults["camera_faults_sent"]:
        lost = f"{faults['camera_faults_sent']} camera faults sent, {faults['camera_faults']} taken"
        faults["injection_errors"].append(lost)
    report["faults"] = faults
    report.setdefault("ended", (raw["harness_errors"] or ["no report from the daemon"])[0])
    for key in ("seconds", "captured", "answered", "verdicts_lost", "plc_verdicts_lost", "failsafe", "fps"):
        report.setdefault(key, 0)
    for key in ("daemon_pid", "plc_peer_pid", "daemon_exit", "harness_errors", "rss_samples", "anon_samples"):
        report[key] = raw.get(key)
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak-") as folder, PlcPeer() as peer:
        raw = run_daemon(args, peer, Path(folder))
    report = merge(raw)
    requested = {"plc_outages": args.plc_outages, "camera_faults": args.camera_faults}
    why = failures(report, requested, args.frames)
    why += [f"harness: {e}" for e in report["harness_errors"]]
    if report["daemon_exit"] != 0:
        why.append(f"the daemon process exited {report['daemon_exit']}")
    report["failures"] = why
    report["ok"] = not why
    return report


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    args = parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=1, default=str)
    print(json.dumps({k: v for k, v in report.items() if not k.endswith("_samples")}, indent=1, default=str))
    if args.json is not None:
        args.json.write_text(text)
    print(
        f"soak: {report['answered']} verdicts in {report['seconds']} s ({report['fps']} fps), "
        f"lost {report['verdicts_lost']}, failed safe {report['failsafe']}, "
        f"faults survived {report['faults']['plc_outages']} PLC + "
        f"{report['faults']['camera_faults']} camera, "
        f"daemon RSS {report['start'].get('rss_mib')} -> {report['end'].get('rss_mib')} MiB, "
        f"second half {report['end'].get('second_half_slope_mib_per_h')}"
        f" ± {report['end'].get('second_half_slope_stderr_mib_per_h')} MiB/h "
        f"(anonymous {report['end'].get('anon_second_half_slope_mib_per_h')}"
        f" ± {report['end'].get('anon_second_half_slope_stderr_mib_per_h')}): "
        + ("OK" if report["ok"] else "FAILED"),
        file=sys.stderr,
    )
    for reason in report["failures"]:
        print(f"soak: FAILED: {reason}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
