"""Run the CLI on a pseudo-terminal, as a user at a console would (progress is shown there only)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_on_terminal(args: list[str], timeout: float = 180) -> tuple[int, str]:
    """``python -m inspector ARGS`` with stdin, stdout and stderr on one pseudo-terminal; returns
    the exit code and everything the terminal showed. ``timeout`` bounds each wait for output."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", *args], stdout=slave, stderr=slave, stdin=slave, env=env
    )
    os.close(slave)
    chunks = []
    try:
        while select.select([master], [], [], timeout)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=30), b"".join(chunks).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
