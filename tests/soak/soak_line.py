"""The soak run's line: the model, the config (real App, synthetic camera, PLC simulator as the
PLC) and the PLC outage it injects."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def tiny_model(args: argparse.Namespace) -> Path | None:
    """The checkpoint to run: ``--model``, else the shipped demo model, else a random-initialised
    yolov8n-seg with the demo classes built by the reference implementation (dev dependency)."""
    if args.model is not None:
        return Path(args.model)
    if (ROOT / "inspector" / "models" / "demo-pcb-seg.pt").exists():
        return None
    from tests.support.reference import build_checkpoint

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
    """The PLC simulator (Modbus TCP server on 127.0.0.1, free port), as a context manager.

    It runs in the soak's own process, so its write log is kept short: the default (200 000
    writes, ~60 MiB after an hour's ~100 000) showed up as a ~55 MiB/h RSS slope of the daemon."""
    from inspector.plc.simulator import PlcSimulator

    return PlcSimulator(write_log_limit=1000)


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
