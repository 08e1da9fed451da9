"""The soak run's line: its options, the model, the config (real App, synthetic camera, the PLC
simulator as the PLC) and the PLC outage it injects."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def add_line_args(p: argparse.ArgumentParser) -> None:
    """The options that shape the line; the soak passes them through to its daemon process."""
    p.add_argument(
        "--duration", type=float, default=None, help="seconds to run (default 300 unless --frames is given)"
    )
    p.add_argument("--frames", type=int, default=None, help="run until this many frames were captured")
    p.add_argument("--model", type=Path, default=None, help="checkpoint (default: the shipped demo model)")
    p.add_argument("--imgsz", type=int, default=320, help="inference size (small: a fast soak)")
    p.add_argument("--device", default="auto", help="engine device: auto, cpu, cuda:N")
    p.add_argument("--batch", type=int, default=1, help="runtime batch size")
    p.add_argument("--size", default="640x480", help="camera frame size WxH")
    p.add_argument("--cpu-threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument(
        "--fps-limit",
        type=float,
        default=None,
        help="cap the camera's frame rate (steady load: memory slope)",
    )
    p.add_argument("--archive", type=Path, default=None, help="reject archive dir (default: a temp dir)")
    p.add_argument(
        "--archive-quota-mib", type=int, default=64, help="archive quota (small: exercises deletion)"
    )
    p.add_argument("--log", type=Path, default=Path("soak-log.jsonl"), help="the daemon's JSON log lines")


LINE_ARGS = ("duration", "frames", "model", "imgsz", "device", "batch", "size", "cpu_threads", "fps_limit")
LINE_ARGS += ("archive", "archive_quota_mib", "log")


def line_argv(args: argparse.Namespace) -> list[str]:
    """``args``' line options as a command line again (for the daemon process)."""
    argv = []
    for name in LINE_ARGS:
        value = getattr(args, name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


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
                "fps_limit": args.fps_limit,
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
