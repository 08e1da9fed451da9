"""``inspector check``: validate a config file without starting anything."""

from __future__ import annotations

import argparse
from typing import Any

from inspector.config.settings import load_config


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="validate a config file; exit 2 listing each error by key path")
    parser.add_argument("--config", "-c", help="YAML config file (default: $INSPECTOR_CONFIG)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"config OK: {len(config.sources)} source(s)")
    return 0
