"""``inspector check``: validate a config file without starting anything."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inspector.cli.config_file import load_given_config
from inspector.config.checks import check_line
from inspector.logging import LogConfig, configure_logging


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="validate a config file; exit 2 listing each error by key path")
    parser.add_argument("--config", "-c", help="YAML config file (default: $INSPECTOR_CONFIG)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # load-time warnings (an INSPECTOR_* variable that maps to no key) go to stderr with the errors
    configure_logging(LogConfig(format="console", level="warning"), stream=sys.stderr)
    config = load_given_config(args.config)
    covered = check_line(config)  # the same static checks as `inspector run`: no torch, no model load
    recipes = f", recipes {', '.join(f'{v.number} {v.name}' for v in config.recipe_views())}"
    print(f"config OK: {len(config.sources)} source(s){recipes if config.recipes else ''}")
    for note in covered.notes:  # what only `inspector run` can check (the model's class names)
        print(note)
    return 0
