"""The soak's PLC: the PLC simulator in a process of its own, told over a pipe when to fail.

Run as a script it is that process: it serves Modbus TCP on 127.0.0.1 (a free port), prints the
port, then answers one line per command read from stdin (``drop``, ``stall``, ``answer``) with
``ok`` or ``error: ...``; EOF stops it. ``PlcPeer`` is the soak's side: it starts the process and
offers the simulator's fault calls, so ``soak_line.plc_outage`` drives either. Out of the daemon's
process, neither the simulator's memory nor its threads count in the daemon's RSS.
"""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
REPLY_TIMEOUT_S = 10.0


def read_line(stream: IO[str], timeout: float) -> str:
    """One line from ``stream`` within ``timeout``. Each request gets exactly one reply line, so no
    later line can sit in the text buffer while select waits on the descriptor."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"the PLC peer did not answer within {timeout:.0f} s")
    line = stream.readline()
    if not line:
        raise ConnectionError("the PLC peer process is gone")
    return line.strip()


class PlcPeer:
    """The simulator process, as a context manager: ``port``, ``drop_connections()``,
    ``stop_answering(flag)``."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> PlcPeer:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            self.port = int(read_line(self._out, 60.0))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    @property
    def _out(self) -> IO[str]:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout

    def command(self, name: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        reply = read_line(self._out, REPLY_TIMEOUT_S)
        if reply != "ok":
            raise RuntimeError(f"PLC peer: {name}: {reply}")

    def drop_connections(self) -> None:
        self.command("drop")

    def stop_answering(self, stalled: bool = True) -> None:
        self.command("stall" if stalled else "answer")

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # EOF: the peer stops its simulator and exits
            proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(15)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def serve() -> int:
    sys.path.insert(0, str(ROOT))
    from inspector.logging import LogConfig, configure_logging
    from inspector.plc.simulator import PlcSimulator

    configure_logging(LogConfig(level="warning"), stream=sys.stderr)  # stdout is the reply channel
    # its own process: the write log costs the daemon nothing, but the peer stays small anyway
    with PlcSimulator(write_log_limit=1000) as sim:
        print(sim.port, flush=True)
        calls = {
            "drop": sim.drop_connections,
            "stall": lambda: sim.stop_answering(True),
            "answer": lambda: sim.stop_answering(False),
        }
        for line in sys.stdin:
            call = calls.get(line.strip())
            try:
                if call is None:
                    raise ValueError(f"unknown command {line.strip()!r}")
                call()
                print("ok", flush=True)
            except Exception as exc:  # reported to the soak, which counts it as an injection error
                print(f"error: {exc!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
