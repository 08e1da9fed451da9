"""Where the daemon's memory goes: a diagnostic the soak's daemon runs with ``--probe DIR``.

Every ``period_s`` it appends to DIR/probe.txt: RSS, threads, Python objects by type, the
tracemalloc lines that grew most since the first snapshot (taken after warm-up), and writes
glibc's ``malloc_info`` (arenas, free chunks held) to DIR/malloc-N.xml. tracemalloc costs CPU
and memory of its own: a diagnostic run, never the measured soak.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import os
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 8


def malloc_info(path: Path) -> None:
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    stream = libc.fopen(str(path).encode(), b"w")
    if stream:
        libc.malloc_info(0, stream)
        libc.fclose(stream)


def type_counts() -> collections.Counter[str]:
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


class Probe:
    def __init__(self, folder: Path, period_s: float = 120.0, warmup_s: float = 120.0) -> None:
        self.folder = folder
        self.period_s, self.warmup_s = period_s, warmup_s
        folder.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-probe", daemon=True)

    def start(self) -> None:
        tracemalloc.start(FRAMES)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        if self._stop.wait(self.warmup_s):
            return
        base, types0, n = tracemalloc.take_snapshot(), type_counts(), 0
        t0 = time.monotonic()
        self._write(0, t0, base, types0, types0)
        while not self._stop.wait(self.period_s):
            n += 1
            self._write(n, t0, base, types0, type_counts())

    def _write(
        self,
        n: int,
        t0: float,
        base: tracemalloc.Snapshot,
        types0: collections.Counter[str],
        types: collections.Counter[str],
    ) -> None:
        snap = tracemalloc.take_snapshot() if n else base
        rss = Path("/proc/self/statm").read_text().split()[1]
        threads = len(os.listdir("/proc/self/task"))
        lines = [
            f"=== {n} t+{time.monotonic() - t0:.0f}s rss_pages={rss} threads={threads}"
            f" traced={tracemalloc.get_traced_memory()}"
        ]
        grown = (types - types0).most_common(15)
        lines.append(f"objects grown: {grown}")
        for stat in snap.compare_to(base, "lineno")[:25]:
            lines.append(f"  {stat}")
        for stat in snap.compare_to(base, "traceback")[:5]:
            lines.append(f"  TB {stat.size_diff / 1024:.1f} KiB count_diff={stat.count_diff}")
            lines += [f"      {line}" for line in stat.traceback.format()]
        with (self.folder / "probe.txt").open("a") as out:
            out.write("\n".join(lines) + "\n")
        malloc_info(self.folder / f"malloc-{n}.xml")
