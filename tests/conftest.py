"""Shared fixtures. The autouse ``no_leftovers`` fixture fails any test that leaves
a thread or a child process running; ``logging_outlives_capture`` keeps the log handler off
streams pytest closed."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from inspector.logging import LogConfig, configure_logging
from tests.support.logs import LogCapture

if TYPE_CHECKING:
    from inspector.plc import PlcConfig, PlcOutput
    from inspector.plc.simulator import PlcSimulator

# Before anything imports torch: OpenMP threads that spin-wait made torch ~10x slower on this
# shared 2-core machine (the CLI sets the same for the daemon, see inspector/cli/__init__.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Threads some libraries keep for the life of the process; not ours to stop.
PROCESS_LIFETIME_THREADS = ("pymodbus", "asyncio_", "Dummy-", "pytest_timeout")
LEFTOVER_GRACE_S = 5.0


def _child_pids() -> set[int]:
    me = str(os.getpid())
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == me and fields[0] != "Z":
            children.add(int(entry))
    return children


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(PROCESS_LIFETIME_THREADS)
    ]


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    children_before = _child_pids()
    yield
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while time.monotonic() < deadline:
        if not _new_threads(threads_before) and not (_child_pids() - children_before):
            return
        time.sleep(0.05)
    threads = [t.name for t in _new_threads(threads_before)]
    children = sorted(_child_pids() - children_before)
    pytest.fail(f"test left running: threads={threads} child processes={children}")


@pytest.fixture(autouse=True)
def logging_outlives_capture() -> Iterator[None]:
    """A test that configures logging while pytest captures its output (``capsys``, the CLI's
    ``main``) leaves the root handler writing to that capture, which pytest closes after the test;
    threads of later tests then print "Logging error: I/O operation on closed file". Torn down
    after the capture fixtures (autouse fixtures are set up first), this points such a handler
    at the real stderr."""
    yield
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
            with handler.lock or threading.Lock():  # setStream would flush the closed stream
                handler.stream = sys.__stderr__


# ---------------------------------------------------------------------------
# Engine (issue 2): small random-initialised YOLOv8-seg checkpoints built by
# ultralytics (the reference implementation, dev-only). Other areas' tests use
# ``tiny_seg_checkpoint`` as "a user's best.pt" with the demo class names.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_seg_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A yolov8n-seg checkpoint (5 demo classes, trained-size 320) saved by ultralytics ``model.save()``."""
    from tests.support.reference import build_checkpoint

    return build_checkpoint(tmp_path_factory.mktemp("models") / "tiny-n-seg.pt", scale="n", imgsz=320)


@pytest.fixture(scope="session")
def small_seg_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A yolov8s-seg checkpoint (5 demo classes, trained-size 320): parity is checked on n and s."""
    from tests.support.reference import build_checkpoint

    return build_checkpoint(
        tmp_path_factory.mktemp("models") / "small-s-seg.pt", scale="s", imgsz=320, seed=4
    )


TRAINED_SIZE = {"yolo11": 256, "yolo26": 320}


@pytest.fixture(scope="session")
def family_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bool], Path]:
    """``family_checkpoint("yolo11" | "yolo26", one_to_one)``: a best.pt of that family at scale n
    (5 classes) saved by ultralytics ``model.save()``, built once per session. ``one_to_one``:
    YOLO26 fused by ultralytics in end-to-end mode, which keeps only the one-to-one branches
    (a trained best.pt holds both sets, unfused).

    Trained size (predict's default input) per family, measured on the parity test's images: at
    these, no score saturates to a tie of many instances at 1.0 and no kept box edge lies within
    float noise of a pixel row (a mask crop that flips one row of a small mask moves its IoU
    below 0.98 without any real difference). yolo11 at 320 and yolo26 at 256 have such cases."""
    from tests.support.families import reference_net, save_checkpoint

    folder = tmp_path_factory.mktemp("family-models")
    made: dict[tuple[str, bool], Path] = {}

    def checkpoint(family: str, one_to_one: bool = False) -> Path:
        if (family, one_to_one) not in made:
            net = reference_net(family, "n", 5, imgsz=256)
            if one_to_one:
                net.end2end = True
                net.fuse(verbose=False)
            name = f"{family}n-seg{'-fused-one2one' if one_to_one else ''}"
            imgsz = TRAINED_SIZE[family]
            made[family, one_to_one] = save_checkpoint(net, folder / name / "best.pt", family, "n", imgsz)
        return made[family, one_to_one]

    return checkpoint


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Every log event of the test as parsed JSON (debug level)."""
    capture = LogCapture()
    configure_logging(LogConfig(format="json", level="debug"), stream=capture.stream)
    yield capture
    configure_logging(LogConfig(format="json"))


# ---------------------------------------------------------------------------
# PLC: the simulator on a free loopback port, and started outputs (tests/plc, health, app).
# ---------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[PlcSimulator]:
    """The PLC simulator on a free loopback port (beating its heartbeat, as a wired PLC does)."""
    from inspector.plc.simulator import PlcSimulator

    with PlcSimulator() as simulator:
        yield simulator


@pytest.fixture
def make_output() -> Iterator[Callable[[PlcConfig], PlcOutput]]:
    """Start a PlcOutput per config; each is stopped after the test (unacked results are flushed
    for up to a second, then logged)."""
    from inspector.plc import PlcOutput

    outputs: list[PlcOutput] = []

    def make(config: PlcConfig) -> PlcOutput:
        output = PlcOutput(config)
        output.start()
        outputs.append(output)
        return output

    yield make
    for output in outputs:
        output.stop(timeout=1.0)
