"""SAM-family refinement cost on the CPU: the exported pair on ONNX Runtime (f32) and OpenVINO (f32,
and bf16 where the CPU runs it) vs ultralytics' SAM predictor (torch f32), same random weights,
same frames, same box prompts.

    PYTHONPATH=. python tests/bench/bench_refine.py [--archs sam-mobile sam2.1-t]
        [--images 3] [--boxes 4] [--rounds 2] [--threads 2] [--pairs DIR] [--precisions f32 bf16]

Weights: seeded random models from ultralytics' builders, saved as the released ``.pt`` files are
and exported with ``inspector model export --arch sam`` (``--pairs DIR`` keeps the exports between
runs). Frames: 640x480 synthetic PCB boards. Per frame the encoder runs once (ultralytics:
``set_image``; inspector: letterbox + encoder graph), then the decoder once per box (ultralytics:
one predictor call with ``bboxes``, its masks at frame size; inspector: decoder graph + crop and
upsampling to the frame). Each side runs in a process of its own (spawned, each with its own thread
pools): compiled OpenVINO models and torch in one process slowed each other when idle ones existed.
Each round runs every side on every frame, one after the other, so drift on a shared machine hits
all alike. Reported: medians of encoder ms per frame and decoder ms per part, and the ratio to
ultralytics.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # as the other benches: no spinning on a shared CPU

import argparse
import functools
import multiprocessing as mp
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.cli import main
from inspector.engine.refine import SamRefiner
from inspector.synth import BoardGenerator
from tests.engine.refine.conftest import FILE_NAMES, reference_module, save_like_release

# (side name, backend, precision); bf16 only where the CPU runs it (AVX-512-BF16 or AMX)
SIDES = (
    ("onnxruntime", "onnxruntime", "f32"),
    ("openvino", "openvino", "f32"),
    ("openvino bf16", "openvino", "bf16"),
)


Times = tuple[float, float]  # wall ms, process CPU ms (all threads): steadier on a shared machine


def ms(run: Callable[[], Any]) -> Times:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return (time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0


def exported(arch: str, folder: Path) -> Path:
    """The exported pair of ultralytics' seeded module (reused from ``folder`` when there; the
    module is built here only to export it: every side builds its own in its process)."""
    pair = folder / arch
    if not (pair / "sam.json").is_file():
        checkpoint = save_like_release(arch, reference_module(arch), folder / FILE_NAMES[arch])
        assert (
            main(["model", "export", str(checkpoint), "--arch", "sam", "--format", "onnx", "-o", str(pair)])
            == 0
        )
    return pair


def predictor(arch: str, model: Any) -> Any:
    from ultralytics.models.sam.predict import Predictor, SAM2Predictor

    kind = SAM2Predictor if arch.startswith("sam2") else Predictor
    made = kind(overrides={"conf": 0.0, "imgsz": 1024, "verbose": False, "save": False})
    threads = torch.get_num_threads()
    made.setup_model(model=model, verbose=False)
    torch.set_num_threads(threads)
    return made


def boxes_for(n: int, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    rng = np.random.default_rng(1)
    x1, y1 = rng.uniform(0, w * 0.6, n), rng.uniform(0, h * 0.6, n)
    return np.stack([x1, y1, x1 + rng.uniform(40, w * 0.4, n), y1 + rng.uniform(40, h * 0.4, n)], 1).astype(
        np.float32
    )


def open_side(arch: str, pair: Path, side: str, threads: int) -> Any:
    """One side, built in the process that runs it."""
    torch.set_num_threads(threads)
    if side == "ultralytics":
        return predictor(arch, reference_module(arch))
    backend, precision = next((b, p) for name, b, p in SIDES if name == side)
    return SamRefiner.open(pair, backend, threads, precision)


def serve_side(conn: Connection, arch: str, pair: Path, side: str, threads: int) -> None:
    """Child process: open the side, then run the frames the parent sends until it sends None."""
    runner = open_side(arch, pair, side, threads)
    conn.send("ready")
    with torch.inference_mode():
        while (job := conn.recv()) is not None:
            conn.send(run_frame(runner, *job))


def measure(
    arch: str, folder: Path, images: list[np.ndarray], args: argparse.Namespace
) -> dict[str, tuple[list[Times], list[Times]]]:
    pair = exported(arch, folder)
    names = ["ultralytics"] + [name for name, _, precision in SIDES if precision in args.precisions]
    spawn = mp.get_context("spawn")
    links: dict[str, Connection] = {}
    children = []
    for name in names:
        parent, child = spawn.Pipe()
        process = spawn.Process(target=serve_side, args=(child, arch, pair, name, args.threads))
        process.start()
        links[name] = parent
        children.append(process)
    times: dict[str, tuple[list[Times], list[Times]]] = {name: ([], []) for name in names}
    boxes = boxes_for(args.boxes, images[0].shape[:2])
    try:
        for link in links.values():
            assert link.recv() == "ready"
            link.send((images[0], boxes[:1]))  # warm-up: first runs allocate and plan
            link.recv()
        for _ in range(args.rounds):
            for image in images:
                for name, link in links.items():
                    link.send((image, boxes))
                    encoder, decoder = link.recv()
                    times[name][0].append(encoder)
                    times[name][1].extend(decoder)
    finally:
        for link in links.values():
            link.send(None)
        for process in children:
            process.join(timeout=60)
    return times


def run_frame(side: Any, image: np.ndarray, boxes: np.ndarray) -> tuple[Times, list[Times]]:
    if isinstance(side, SamRefiner):
        holder: list[Any] = []
        encoder = ms(lambda: holder.append(side.embed(image)))
        return encoder, [ms(functools.partial(side.mask, holder[0], box)) for box in boxes]
    encoder = ms(lambda: side.set_image(image))
    return encoder, [ms(functools.partial(side, bboxes=box[None])) for box in boxes]


def medians(samples: list[Times]) -> Times:
    return statistics.median(t[0] for t in samples), statistics.median(t[1] for t in samples)


def report(arch: str, times: dict[str, tuple[list[Times], list[Times]]]) -> None:
    (ref_enc, ref_enc_cpu), (ref_dec, ref_dec_cpu) = (medians(v) for v in times["ultralytics"])
    for name, (enc, dec) in times.items():
        (e, e_cpu), (d, d_cpu) = medians(enc), medians(dec)
        encoder = f"{e:.0f} ({e_cpu:.0f}) | {e / ref_enc:.2f} ({e_cpu / ref_enc_cpu:.2f})"
        decoder = f"{d:.1f} ({d_cpu:.1f}) | {d / ref_dec:.2f} ({d_cpu / ref_dec_cpu:.2f})"
        print(f"| {arch} | {name} | {encoder} | {decoder} | {len(enc)} / {len(dec)} |", flush=True)


def main_bench() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archs", nargs="+", default=["sam-mobile", "sam2.1-t"])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--boxes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", default=["f32", "bf16"], help="f32 and/or bf16 (OpenVINO)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=Path, default=None, help="keep the exported pairs here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    boards = BoardGenerator((640, 480), seed=0)
    images = [boards.render(i)[0] for i in range(args.images)]
    cpu = platform.processor() or platform.machine()
    print(f"CPU: {cpu}, {os.cpu_count()} cores, threads {args.threads}, load {os.getloadavg()}")
    columns = "encoder ms/frame wall (CPU) | ratio | decoder ms/part wall (CPU) | ratio"
    print(f"| model | side | {columns} | frames / parts |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.pairs or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for arch in args.archs:
            report(arch, measure(arch, folder, images, args))


if __name__ == "__main__":
    main_bench()
