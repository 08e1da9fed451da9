"""``inspector model``: not built yet (see the open issues)."""

from __future__ import annotations

import argparse
from typing import Any

from inspector.errors import InspectorError


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="(not built yet)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    raise InspectorError("this subcommand is not built yet")
