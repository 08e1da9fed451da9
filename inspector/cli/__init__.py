"""The ``inspector`` command line: one module per subcommand, each with ``register``.

User errors (``InspectorError``) print one message to stderr and exit with the
error's code (2 for config errors); they never print a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from inspector import __version__
from inspector.errors import InspectorError

# subcommand name -> module under inspector.cli that registers it
SUBCOMMANDS = {
    "run": "run",
    "demo": "demo",
    "check": "check",
    "segment": "segment",
    "model": "model",
    "plc-sim": "plc_sim",
    "bench": "bench",
    "synth": "synth",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that subcommand (its module alone is imported: the
    others pull in torch and OpenCV, which ``inspector check`` must not wait for)."""
    parser = argparse.ArgumentParser(prog="inspector", description="Industrial inspection daemon.")
    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        importlib.import_module(f"inspector.cli.{module}").register(sub, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Top-level options are only -h/--version, so the first other word names the subcommand.
    first = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InspectorError as exc:
        print(f"inspector {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
