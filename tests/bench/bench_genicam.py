"""Capture → BGR frame time of the genicam source on pylon's camera emulation.

    PYTHONPATH=. python tests/bench/bench_genicam.py --frames 300

Per case (1024x1040 Mono8, 1920x1200 BayerRG8, and 1920x1200 BGR8 for reference) it reports:
the conversion alone on a frame in memory; the source's capture path — retrieve the buffer,
convert it straight out of the driver's memory, release it — as CPU time of the calling
thread per frame (waiting for the sensor is not work), and its wall time; and the free-running
read rate (the emulator's own pace bounds it). OpenCV runs on one thread, as on a loaded line.
Only the emulation transport is enumerated: nothing is sent on the network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYLON_CAMEMU", "1")

import cv2
import numpy as np

from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.convert import to_bgr
from inspector.sources.genicam.source import GenicamSource
from inspector.sources.synthetic import pcb_scene

CASES = (("Mono8", 1024, 1040), ("BayerRG8", 1920, 1200), ("BGR8", 1920, 1200))


def board_file(folder: Path, width: int, height: int, grey: bool) -> Path:
    image = pcb_scene(width, height, seed=1)(0)
    path = folder / f"board_{width}x{height}.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if grey else image)
    return path


def keep_first(raw: list[np.ndarray], view: np.ndarray, fmt: str) -> np.ndarray:
    """The conversion the source does; the first raw buffer is kept to time the conversion alone."""
    if not raw:
        raw.append(view.copy())
    return to_bgr(view, fmt)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000.0, 3)


def bench_case(fmt: str, width: int, height: int, frames: int, folder: Path) -> dict[str, object]:
    path = board_file(folder, width, height, grey=fmt == "Mono8")
    features = {"TestImageSelector": "Off", "ImageFileMode": "On", "ImageFilename": str(path)}
    config = GenicamSourceConfig(
        kind="genicam",
        id="bench",
        transport="emulation",
        pixel_format=fmt,
        roi={"width": width, "height": height},  # the emulator crops files to 1024x1040 by default
        grab="sequential",
        buffers=16,
        features=features,
    )
    source = GenicamSource(config, triggered=False)
    source.open()
    camera = source._camera
    assert camera is not None
    raw: list[np.ndarray] = []
    cpu, wall = [], []
    try:
        for _ in range(frames):
            t_cpu, t_wall = time.thread_time(), time.perf_counter()
            grab = camera.retrieve(
                1000, lambda view: (raw.append(view.copy()) if not raw else None, to_bgr(view, fmt))[1]
            )
            cpu.append(time.thread_time() - t_cpu)
            wall.append(time.perf_counter() - t_wall)
            assert grab is not None and grab.ok
        t0 = time.perf_counter()
        for _ in range(frames):
            ok, _frame = source.read()
            assert ok
        rate = frames / (time.perf_counter() - t0)
    finally:
        source.release()
    convert = []
    for _ in range(frames):
        t = time.perf_counter()
        to_bgr(raw[0], fmt)
        convert.append(time.perf_counter() - t)
    assert raw[0].shape[:2] == (height, width)
    return {
        "case": f"{width}x{height} {fmt}",
        "convert_ms": median_ms(convert),
        "capture_cpu_ms": median_ms(cpu),
        "capture_wall_ms": median_ms(wall),
        "read_fps": round(rate, 1),
        "lost": source.counters()["lost_frames"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print("| case | convert ms | capture CPU ms | capture wall ms | free-run read fps | lost |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, width, height in CASES:
            r = bench_case(fmt, width, height, args.frames, Path(tmp))
            print(
                f"| {r['case']} | {r['convert_ms']} | {r['capture_cpu_ms']} | {r['capture_wall_ms']} "
                f"| {r['read_fps']} | {r['lost']} |"
            )


if __name__ == "__main__":
    main()
