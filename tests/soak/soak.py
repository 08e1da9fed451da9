"""Soak and fault run: the whole line at full speed for a long time while faults are injected.

Not part of the normal test run (a script, like the benchmarks). It runs the real App
with the real engine on a small model, a synthetic PCB camera behind a fault
injector, and the PLC simulator on loopback as the PLC (client role, free run),
then reports memory at start and end, frames/verdicts accounted for, parts failed
safe and faults survived. Exit 0 only if no verdict was lost, the line stopped
cleanly and its health was not failing at the end.

    python tests/soak/soak.py --duration 3600 --plc-outages 100 --camera-faults 100   # the full run
    python tests/soak/soak.py --frames 1000000                                         # or by frames
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
from measure import RssTrend, gpu_mib, rss_mib  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=300.0, help="seconds to run (default 300)")
    p.add_argument("--frames", type=int, default=None, help="stop after this many frames instead")
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
    return p.parse_args(argv)


def tiny_model(args: argparse.Namespace) -> Path | None:
    """The checkpoint to run: ``--model``, else the shipped demo model, else a random-initialised
    yolov8n-seg with the demo classes built by the reference implementation (dev dependency)."""
    if args.model is not None:
        return Path(args.model)
    if (ROOT / "inspector" / "models" / "demo-pcb-seg.pt").exists():
        return None
    from tests.reference import build_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="soak-model-"))
    return build_checkpoint(folder / "tiny-n-seg.pt", scale="n", imgsz=args.imgsz)


def build_config(args: argparse.Namespace, plc_port: int) -> Any:
    from inspector.config.settings import InspectorConfig

    width, height = (int(v) for v in args.size.lower().split("x"))
    engine: dict[str, Any] = {"imgsz": args.imgsz, "device": args.device}
    if args.model_path is not None:
        engine["model"] = str(args.model_path)
    if args.cpu_threads:
        engine["cpu_threads"] = args.cpu_threads
    return InspectorConfig(
        sources=[
            {
                "kind": "synthetic",
                "id": "cam0",
                "scene": "pcb",
                "width": width,
                "height": height,
                "reconnect_initial_s": 0.05,
                "reconnect_max_s": 0.5,
            }
        ],
        engine=engine,
        plc={
            "role": "client",
            "mode": "free_run",
            "host": "127.0.0.1",
            "port": plc_port,
            "reconnect_min_ms": 20,
            "reconnect_max_ms": 500,
            # no physical gate here, and a full-speed CPU line queues ~1 s: only a result held back
            # by a PLC outage should count as late (as in config/demo.yaml)
            "pulses": {"late_ms": 10000},
        },
        runtime={
            "batch_size": args.batch,
            "stats_interval_s": 30,
            "log_inspections": False,
            "frames_queue": {"size": 4, "overflow": "block"},
            "max_frames": args.frames,
            "shutdown_deadline_s": 30,
        },
        # the demo rule: any defect with score >= 0.5 rejects (rejects feed the archive)
        rules={
            "rules": {
                "defect": {
                    "kind": "presence",
                    "code": 1,
                    "min_score": 0.5,
                    "classes": ["solder_bridge", "insufficient_solder", "excess_solder", "missing_joint"],
                }
            }
        },
        archive={
            "enabled": True,
            "dir": str(args.archive),
            "quota_mib": args.archive_quota_mib,
            "min_free_mib": 0,
        },
        # production RSS thresholds: a short soak does not fill the window, a 1 h soak does
        watchdog={"rss_interval_s": 5, "stall_after_s": 30},
    )


def plc_simulator() -> Any:
    """The PLC simulator (Modbus TCP server on 127.0.0.1, free port), as a context manager."""
    from inspector.plc.sim import PlcSimulator

    return PlcSimulator()


def plc_outage(sim: Any, outage_s: float, count: list[int]) -> None:
    """Alternate the two ways a PLC goes away: the TCP link drops, or it stops answering."""
    count[0] += 1
    if count[0] % 2:
        sim.drop_connections()
        time.sleep(outage_s)
    else:
        sim.stop_answering(True)
        try:
            time.sleep(outage_s)
        finally:
            sim.stop_answering(False)


def accounting(app: Any) -> dict[str, Any]:
    """Every captured frame is answered at the output or counted as dropped; the rest is lost."""
    captured = sum(s.frames for s in app.source_stats())
    total = app.stats.total()
    dropped = sum(app.queue_drops().values())
    answered = int(total["frames"])
    out: dict[str, Any] = {
        "captured": captured,
        "answered": answered,
        "dropped_counted": dropped,
        "verdicts_lost": captured - answered - dropped,
        "failsafe": int(total["failsafe"]),
        "verdicts": total["verdicts"],
        "fps": total["fps"],
        "e2e_ms": total["latency_ms"].get("e2e", {}),
    }
    plc_stats = getattr(app.components.output, "stats", None)
    if plc_stats is not None:
        s = plc_stats()
        out["plc"] = {
            k: getattr(s, k)
            for k in ("submitted", "delivered", "dropped", "pending", "errors", "reconnects", "late")
            if hasattr(s, k)
        }
    return out


def run_line(args: argparse.Namespace, sim: Any) -> dict[str, Any]:
    """Start the line, inject the faults over the run, stop it; the raw figures."""
    from inspector.app import App
    from inspector.app.build import build_components
    from inspector.sources import build_source

    config = build_config(args, sim.port)
    camera = FaultyCamera(build_source(config.sources[0]))
    app = App(config, build_components(config), sources={"cam0": camera})
    app.start()
    t0 = time.monotonic()
    start = {"rss_mib": rss_mib(), "gpu_mib": gpu_mib()}
    outages = [0]
    plans = [
        FaultPlan("plc", args.plc_outages, args.duration, lambda: plc_outage(sim, 0.5, outages)),
        FaultPlan("camera", args.camera_faults, args.duration, camera.fault),
    ]
    trend = RssTrend()
    for part in (*plans, trend):
        part.start()
    stopper = threading.Timer(args.duration, app.request_shutdown, args=("soak duration",))
    stopper.start()
    try:
        app.shutdown_requested.wait(args.duration + 60)
        end = {"rss_mib": rss_mib(), "gpu_mib": gpu_mib(), **trend.stop()}
        snap = app.supervisor.health.last if app.supervisor is not None else None
    finally:
        stopper.cancel()
        for plan in plans:
            plan.stop()
        clean = app.run_until_stopped()
    return {
        "app": app,
        "seconds": round(time.monotonic() - t0, 1),
        "start": start,
        "end": end,
        "health_at_end": snap.summary() if snap is not None else "unknown",
        "failing": snap is not None and snap.state.label == "failing",
        "clean": clean,
        "faults": {
            "plc_outages": plans[0].fired,
            "camera_faults": plans[1].fired,
            "camera_reconnects": sum(s.reconnects for s in app.source_stats()),
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
        "device": str(getattr(app.components.engine, "device", "?")),
        **{k: raw[k] for k in ("seconds", "start", "end")},
        **accounting(app),
        "faults": raw["faults"],
        "archive": dataclasses.asdict(app.supervisor.archive.stats())
        if app.supervisor and app.supervisor.archive
        else None,
        "health_at_end": raw["health_at_end"],
        "clean_stop": raw["clean"],
        "exit_code": app.exit_code,
    }
    plc = report.get("plc", {})
    report["plc_verdicts_lost"] = (
        plc["submitted"] - plc["delivered"] - plc["dropped"] - plc["pending"] if plc else 0
    )
    report["ok"] = bool(
        report["verdicts_lost"] == 0
        and report["plc_verdicts_lost"] == 0
        and raw["clean"]
        and not raw["failing"]
        and app.exit_code is None
    )
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
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
