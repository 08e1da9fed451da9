"""GPU figures for tests/gpu/run.sh, printed as Markdown.

    python tests/gpu/bench_gpu.py prepare --workdir DIR      # checkpoints, ONNX files, plans (slow, untimed)
    python tests/gpu/bench_gpu.py speed --workdir DIR [--imgsz 640] [--frames 30] [--rounds 3]
    python tests/gpu/bench_gpu.py memory --workdir DIR [--timeout 60]

Everything built (checkpoints, ONNX files, TensorRT plans, ultralytics' engines) is kept in
``--workdir`` and reused, so ``prepare`` can run while the GPU is busy with something else and
``speed`` times only the runs, on an idle GPU.

``speed``: per-frame time, batch 1 and 8, of inspector (torch fp16; TensorRT from its ONNX
export, fp16 — fp32 on TensorRT 11 — and one row with the 480x640 input that fits the frames)
vs ultralytics predict (.pt fp16) and its own TensorRT export (fp16); 640x480 frames,
interleaved rounds, medians. ``memory``: peak GPU memory, one process per row (n and s at imgsz
320/640/1280, inspector torch and ultralytics predict, fp16; inspector TensorRT at 640): torch's
``max_memory_allocated`` (TensorRT's own memory is not in it) and nvidia-smi's figure for the
process (everything, the CUDA context included).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from inspector.engine import EngineConfig, load_engine  # noqa: E402
from inspector.engine.backends.options import TensorRtOptions  # noqa: E402
from inspector.engine.export.registry import ExportRequest  # noqa: E402
from tests.support.reference import build_checkpoint, synthetic_image, yolo  # noqa: E402

FRAME_HW = (480, 640)
MEMORY_ROWS = [(s, i, b) for s in "ns" for i in (320, 640, 1280) for b in ("torch", "ultralytics")]
MEMORY_ROWS += [("n", 640, "tensorrt"), ("s", 640, "tensorrt")]


def has_tensorrt() -> bool:
    return importlib.util.find_spec("tensorrt") is not None


def median_ms(run: Callable[[], object], frames: int, per_call: int) -> float:
    for _ in range(3):
        run()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000 / per_call)
    return statistics.median(times)


def checkpoint(workdir: Path, scale: str) -> Path:
    """A random-initialised yolov8{scale}-seg (its trained size does not matter here)."""
    path = workdir / f"{scale}.pt"
    return path if path.exists() else build_checkpoint(path, scale=scale, imgsz=320)


def onnx_for(ckpt: Path, imgsz: int, batch: int, frame: tuple[int, int] | None = None) -> Path:
    """inspector's ONNX export of ``ckpt`` (kept beside it, reused)."""
    from inspector.engine.export.onnx import write_onnx

    out = ckpt.with_name(f"{ckpt.stem}-{imgsz}-b{batch}{'-rect' if frame else ''}.onnx")
    if not out.exists():
        write_onnx(ExportRequest(ckpt, out, (imgsz, imgsz), frame, batch, False, None, None))
    return out


def trt_precision() -> str:
    """fp16 where TensorRT builds it from a float32 graph (TensorRT 10), else fp32 (TensorRT 11)."""
    import tensorrt as trt

    return "fp16" if hasattr(trt.BuilderFlag, "FP16") else "fp32"


def trt_engine(onnx: Path) -> Any:
    """inspector's TensorRT backend, the plan cached beside the ONNX file; no start-up check
    (the tests check fp16 against fp32; here it would only add a second build)."""
    options = TensorRtOptions(precision=trt_precision(), check_iou=0.0)
    return load_engine(EngineConfig(model=onnx, backend="tensorrt", device="cuda", tensorrt=options))


def ultralytics_engine(ckpt: Path, imgsz: int, batch: int) -> Path:
    """ultralytics' own TensorRT export (fp16) of the same weights (kept, reused)."""
    own = ckpt.with_name(f"ultralytics-{ckpt.stem}-{imgsz}-b{batch}.pt")
    engine = own.with_suffix(".engine")
    if not engine.exists():
        shutil.copy(ckpt, own)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yolo(own).export(format="engine", imgsz=imgsz, half=True, batch=batch, device=0, simplify=False)
    return engine


def trt_setups(ckpt: Path, imgsz: int, batch: int, frames: list[Any]) -> dict[str, Callable[[], Any]]:
    kwargs = {"imgsz": imgsz, "half": True, "device": 0, "batch": batch, "verbose": False}
    setups: dict[str, Callable[[], Any]] = {
        f"inspector tensorrt {trt_precision()}": lambda: functools.partial(
            trt_engine(onnx_for(ckpt, imgsz, batch)).infer, frames
        ),
        "ultralytics TensorRT export fp16": lambda: functools.partial(
            yolo(ultralytics_engine(ckpt, imgsz, batch)).predict, frames, **kwargs
        ),
    }
    if batch == 1:
        setups[f"inspector tensorrt {trt_precision()}, rect {FRAME_HW[0]}x{FRAME_HW[1]}"] = lambda: (
            functools.partial(trt_engine(onnx_for(ckpt, imgsz, 1, FRAME_HW)).infer, frames)
        )
    return setups


def runners(ckpt: Path, imgsz: int, batch: int) -> dict[str, Callable[[], object] | str]:
    """Each runner, or why it could not be set up (the row then says so)."""
    frames = [synthetic_image(*FRAME_HW, seed=s) for s in range(batch)]
    out: dict[str, Callable[[], object] | str] = {}
    torch_engine = load_engine(EngineConfig(model=ckpt, device="cuda", imgsz=imgsz, half=True))
    out["inspector torch fp16"] = functools.partial(torch_engine.infer, frames)
    reference = yolo(ckpt)
    kwargs = {"imgsz": imgsz, "half": True, "device": 0, "batch": batch, "verbose": False}
    out["ultralytics predict .pt fp16"] = functools.partial(reference.predict, frames, **kwargs)
    if not has_tensorrt():
        out["inspector tensorrt fp16"] = out["ultralytics TensorRT export fp16"] = "tensorrt not installed"
        return out
    for name, setup in trt_setups(ckpt, imgsz, batch, frames).items():
        try:
            out[name] = setup()
        except Exception as exc:  # a row that cannot run says why; the others still do
            out[name] = f"not measured: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return out


def prepare(args: argparse.Namespace) -> None:
    """Build what speed and memory load, untimed: checkpoints, ONNX files, plans, ultralytics engines."""
    ckpts = [checkpoint(args.workdir, s) for s in "ns"]
    if not has_tensorrt():
        print("prepare: tensorrt not installed, only the checkpoints were built")
        return
    frames = [synthetic_image(*FRAME_HW, seed=0)]
    jobs = [
        *trt_setups(ckpts[0], args.imgsz, 1, frames).items(),
        *trt_setups(ckpts[0], args.imgsz, 8, frames).items(),
    ]
    jobs.append(("s tensorrt", lambda: trt_engine(onnx_for(ckpts[1], args.imgsz, 1))))
    for name, setup in jobs:
        t0 = time.perf_counter()
        try:
            setup()
            print(f"prepare: {name}: ready in {time.perf_counter() - t0:.0f} s")
        except Exception as exc:
            print(f"prepare: {name}: failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        torch.cuda.empty_cache()


def speed(args: argparse.Namespace) -> None:
    print(
        f"### Speed: FP16, frames {FRAME_HW[1]}x{FRAME_HW[0]}, yolov8{args.scale}-seg, imgsz {args.imgsz}\n"
    )
    print("| batch | runner | ms/frame | frames/s | throughput vs ultralytics predict |")
    print("| ---: | --- | ---: | ---: | ---: |")
    ckpt = checkpoint(args.workdir, args.scale)
    for batch in (1, 8):
        runs = runners(ckpt, args.imgsz, batch)
        timed = {name: run for name, run in runs.items() if callable(run)}
        rounds: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.rounds):  # interleaved: a slow moment affects every runner alike
            for name, timed_run in timed.items():
                rounds[name].append(median_ms(timed_run, args.frames, batch))
        base = statistics.median(rounds["ultralytics predict .pt fp16"])
        for name, runner in runs.items():
            if not callable(runner):
                print(f"| {batch} | {name} | – | – | {runner} |")
                continue
            ms = statistics.median(rounds[name])
            print(f"| {batch} | {name} | {ms:.2f} | {1000 / ms:.0f} | x{base / ms:.2f} |")
        torch.cuda.empty_cache()
    print()


def smi_mib(pid: int) -> float | None:
    """nvidia-smi's memory of process ``pid`` in MiB (None when nvidia-smi cannot say)."""
    query = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
    try:
        text = subprocess.run(query, capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    pairs = (line.split(",") for line in text.splitlines() if line.count(",") == 1)
    rows = {pid_text.strip(): mib.strip() for pid_text, mib in pairs}
    return float(rows[str(pid)]) if rows.get(str(pid), "").isdigit() else None


def memory_row(scale: str, imgsz: int, backend: str, ckpt: Path) -> dict[str, Any]:
    """One row, measured in this process: load, warm up, ten frames, then the peaks."""
    frame = synthetic_image(*FRAME_HW, seed=1)
    torch.cuda.reset_peak_memory_stats()
    if backend == "ultralytics":
        model = yolo(ckpt)
        run: Callable[[], object] = functools.partial(
            model.predict, frame, imgsz=imgsz, half=True, device=0, verbose=False
        )
    elif backend == "tensorrt":
        engine = trt_engine(onnx_for(ckpt, imgsz, 1))
        run = functools.partial(engine.infer, [frame])
    else:
        engine = load_engine(EngineConfig(model=ckpt, device="cuda", imgsz=imgsz, half=True))
        run = functools.partial(engine.infer, [frame])
    for _ in range(10):
        run()
    torch.cuda.synchronize()
    return {
        "scale": scale,
        "imgsz": imgsz,
        "backend": backend,
        "torch_peak_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
        "process_mib": smi_mib(os.getpid()),
    }


def memory_line(scale: str, imgsz: int, backend: str, ckpt: Path, timeout: float) -> str:
    """One Markdown row, measured in a fresh process."""
    name = "ultralytics predict" if backend == "ultralytics" else f"inspector {backend}"
    if backend == "tensorrt" and not has_tensorrt():
        return f"| {scale} | {imgsz} | {name} | – | – (tensorrt not installed) |"
    argv = [sys.executable, __file__, "memory-row", scale, str(imgsz), backend, str(ckpt)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"| {scale} | {imgsz} | {name} | – | – (over {timeout:.0f} s) |"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1][:120]
        return f"| {scale} | {imgsz} | {name} | – | – ({why}) |"
    row = json.loads(lines[-1])
    return f"| {scale} | {imgsz} | {name} | {row['torch_peak_mib']} | {row['process_mib'] or '–'} |"


def memory(args: argparse.Namespace) -> None:
    print("### Peak GPU memory (one process per row, FP16, batch 1, 10 frames 640x480)\n")
    print("| scale | imgsz | runner | torch max_memory_allocated MiB | nvidia-smi process MiB |")
    print("| --- | ---: | --- | ---: | ---: |")
    ckpts = {s: checkpoint(args.workdir, s) for s in "ns"}
    for scale, imgsz, backend in MEMORY_ROWS:
        print(memory_line(scale, imgsz, backend, ckpts[scale], args.timeout), flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("prepare")
    s = sub.add_parser("speed")
    s.add_argument("--scale", default="n", choices=["n", "s"])
    s.add_argument("--frames", type=int, default=30)
    s.add_argument("--rounds", type=int, default=3)
    m = sub.add_parser("memory")
    m.add_argument("--timeout", type=float, default=60.0, help="seconds per row")
    for command in (p, s, m):
        command.add_argument("--workdir", type=Path, required=True, help="where built files are kept")
        command.add_argument("--imgsz", type=int, default=640)
    r = sub.add_parser("memory-row")
    r.add_argument("scale")
    r.add_argument("imgsz", type=int)
    r.add_argument("backend", choices=["torch", "ultralytics", "tensorrt"])
    r.add_argument("ckpt", type=Path)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("CUDA is not available: no GPU figures (run this on a GPU machine: tests/gpu/run.sh)")
        return
    if args.what in ("prepare", "speed", "memory"):
        args.workdir.mkdir(parents=True, exist_ok=True)
    if args.what == "prepare":
        prepare(args)
    elif args.what == "speed":
        speed(args)
    elif args.what == "memory":
        memory(args)
    else:
        print(json.dumps(memory_row(args.scale, args.imgsz, args.backend, args.ckpt)))


if __name__ == "__main__":
    main()
