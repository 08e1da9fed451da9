"""The register tables of ``deploy/plc-register-map.md``, generated from the layout in
``inspector/plc/registers.py``: ``python -m inspector.plc.register_doc --markdown`` prints them;
``--update FILE`` rewrites them in place between their marker comments."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from inspector.plc.registers import AREAS, Encoding, RegisterArea

MARK_BEGIN = "<!-- generated from inspector/plc/registers.py: {key} -->"
MARK_END = "<!-- end generated: {key} -->"
DEFAULT_REALS = 4  # the default of plc.registers.measurements, for the 'default address' column


def _span(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start}–{start + length - 1}"


def markdown_table(area: RegisterArea) -> str:
    """The area's table: offset, default address, name, type, meaning."""
    lines = ["| offset | default address | name | type | meaning |", "|---|---|---|---|---|"]
    for f in area.fields:
        if f.encoding is Encoding.REALS:
            offset = f"{f.offset}…"
            address = _span(area.default_start + f.offset, 2 * DEFAULT_REALS)
        else:
            offset = _span(f.offset, f.length)
            address = _span(area.default_start + f.offset, f.length)
        kind = f.encoding.value
        if f.encoding is Encoding.UDINT:
            kind += f" (high word at {area.default_start + f.offset})"
        lines.append(f"| {offset} | {address} | {f.label} | {kind} | {f.meaning} |")
    return "\n".join(lines)


def render_document(text: str) -> str:
    """``text`` with every area's table between its markers replaced by the generated one."""
    for area in AREAS:
        begin, end = MARK_BEGIN.format(key=area.config_key), MARK_END.format(key=area.config_key)
        pattern = re.compile(re.escape(begin) + r"\n.*?\n" + re.escape(end), re.DOTALL)
        if len(pattern.findall(text)) != 1:
            raise ValueError(f"expected one generated table for {area.config_key!r} ({begin} … {end})")
        start, stop = pattern.search(text).span()  # type: ignore[union-attr]  # found just above
        text = f"{text[:start]}{begin}\n{markdown_table(area)}\n{end}{text[stop:]}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inspector.plc.register_doc", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print every area's table")
    parser.add_argument("--update", type=Path, metavar="FILE", help="rewrite the tables in FILE")
    args = parser.parse_args(argv)
    if args.update is not None:
        args.update.write_text(render_document(args.update.read_text(encoding="utf-8")), encoding="utf-8")
    if args.markdown or args.update is None:
        for area in AREAS:
            print(f"{area.config_key}\n\n{markdown_table(area)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
