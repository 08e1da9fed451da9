"""The daemon's memory: freed heap goes back to the OS before the RSS watchdog samples; and the
soak harness's own pieces (RSS of another process, slopes, a report without a daemon report)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from inspector.watchdog.config import WatchdogConfig
from inspector.watchdog.restart import RestartRequest
from inspector.watchdog.rss import MIB, RssWatchdog
from tests.support.soak import SOAK, soak_module

# Run in a fresh interpreter: how much a trim gives back depends on the heap's history, and a
# test process that has loaded torch and run hundreds of tests has one nobody can predict.
ARENA_CHURN = """
import sys, threading
import numpy as np
from inspector.watchdog.heap import release_free_heap
from inspector.watchdog.rss import MIB, read_rss_bytes

def churn(pinned):
    # glibc raises its mmap threshold to the largest mmapped block freed so far: after this,
    # 1 MiB buffers come from the thread's arena, as a running line's frames and tensors do
    np.ones(4 * MIB // 8).sum()
    frames = []
    for _ in range(48):
        frames.append(np.ones(MIB // 8))  # 1 MiB, written: resident
        pinned.append(np.ones(16))  # a small result kept between them: the holes cannot merge
    frames.clear()

if not release_free_heap():
    print("no-trim")
    sys.exit(0)
pinned = []
workers = [threading.Thread(target=churn, args=(pinned,)) for _ in range(2)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join(30)
before = read_rss_bytes()
release_free_heap()
print(len(pinned), (before - read_rss_bytes()) / MIB)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc arenas")
def test_freed_frames_in_thread_arenas_go_back_to_the_os() -> None:
    result = subprocess.run(
        [sys.executable, "-c", ARENA_CHURN], capture_output=True, text=True, timeout=60, check=True
    )
    if result.stdout.strip() == "no-trim":
        pytest.skip("no malloc_trim in this C library (not glibc)")
    pinned, released_mib = result.stdout.split()
    assert int(pinned) == 96
    assert float(released_mib) >= 16  # of the ~96 MiB freed, pinned in the arenas by small arrays


def test_rss_watchdog_samples_after_releasing_the_free_heap() -> None:
    rss = [500 * MIB]
    released: list[bool] = []

    def release() -> None:
        released.append(True)
        rss[0] = 400 * MIB  # what the allocator had kept, given back

    watchdog = RssWatchdog(WatchdogConfig(), RestartRequest(), read_rss=lambda: rss[0], release_heap=release)
    assert watchdog.check().rss_mib == 400.0
    assert released == [True] and watchdog.released_mib == 100.0
    assert watchdog.check().rss_mib == 400.0 and watchdog.released_mib == 100.0  # nothing more to give


def test_rss_of_another_process_and_the_slopes_of_its_trend() -> None:
    measure = soak_module("measure")
    code = "import time; print('up', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"  # running, not just forked
        assert 1.0 < measure.rss_mib(child.pid) < 200.0
        rss, anon = measure.memory_mib(child.pid)
        assert 0.0 < anon < rss  # the interpreter's own heap is part of its resident set
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    samples = [(t * 60.0, 800.0 + (t if t < 60 else 60 + t / 60)) for t in range(120)]  # per minute
    figures = measure.trend_figures(samples)
    assert figures["first_half_slope_mib_per_h"] == pytest.approx(60.0)
    assert figures["second_half_slope_mib_per_h"] == pytest.approx(1.0)
    assert figures["peak_mib"] == 862.0  # 861.98, to 0.1 MiB
    assert figures["second_half_slope_stderr_mib_per_h"] == pytest.approx(0.0, abs=0.01)  # a line


def test_the_slope_error_grows_with_the_wobble_and_its_autocorrelation() -> None:
    measure = soak_module("measure")
    rng = np.random.default_rng(0)
    hour = [(float(t), 900.0 + t / 3600 + rng.normal(0, 15)) for t in range(3600)]
    slope, error = measure.slope_with_error(hour)
    assert abs(slope - 1.0) < 3 * error and 0.4 < error < 1.5
    smooth = np.convolve(rng.normal(0, 15, 3609), np.ones(10) / 10**0.5, mode="valid")
    wobbly = [(float(t), 900.0 + v) for t, v in enumerate(smooth)]
    assert measure.slope_with_error(wobbly)[1] > 2 * error  # neighbours wobble together: less known


def test_a_daemon_that_left_no_report_fails_the_soak_with_its_reason() -> None:
    sys.path.insert(0, str(SOAK))
    try:
        soak = soak_module("soak")
    finally:
        sys.path.remove(str(SOAK))
    raw = {"harness_errors": ["the daemon did not start: daemon exited (1)"], "daemon_exit": 1}
    report = soak.merge(raw)
    judge = soak_module("judge")
    why = judge.failures(report, {"plc_outages": 1, "camera_faults": 1}, None)
    assert "the line ended early: the daemon did not start: daemon exited (1)" in why
    assert "only 0 of 1 camera faults were injected" in why
