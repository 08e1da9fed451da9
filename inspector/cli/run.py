"""``inspector run``: the daemon. Runs the configured line until SIGTERM/SIGINT (or its sources end)."""

from __future__ import annotations

import argparse
from typing import Any

from inspector.cli.config_file import load_given_config
from inspector.cli.progress import startup_progress
from inspector.config.checks import check_line
from inspector.config.settings import config_path_from_env
from inspector.logging import configure_logging, native_output_logged


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(
        name,
        help="run the inspection line (exit 0 after a clean SIGTERM drain, non-zero if it was cut short)",
    )
    parser.add_argument("--config", "-c", help="YAML config file (default: $INSPECTOR_CONFIG)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    configure_logging()  # load-time warnings in the same JSON lines; reconfigured from the file below
    config = load_given_config(args.config)
    check_line(config)  # exactly what `inspector check` checks, before torch loads
    configure_logging(config.log)
    from inspector.app.signals import run_daemon  # torch and OpenCV: only for a config that passed

    # OpenCV/FFmpeg/GStreamer write plain text to fd 2: as JSON events, a log stays one object a line.
    # Progress (model load, warm-up) only on a terminal's stderr.
    with native_output_logged(), startup_progress():
        return run_daemon(config, config_path_from_env(args.config))
