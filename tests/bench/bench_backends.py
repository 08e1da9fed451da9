"""Per-frame time of every installed inspector backend vs ultralytics predict on the matching format.

    PYTHONPATH=. python tests/bench/bench_backends.py [--imgsz 640] [--size 640x480] [--threads 2]

Same checkpoint (the shipped demo model's weights saved by ultralytics, or ``--model`` an
ultralytics best.pt, or ``--model random``: a calibrated random-initialised yolov8n-seg, whose flat
scores make the bf16/int8 start-up check refuse), same 640x480 synthetic PCB boards, same thread
count, interleaved rounds (every runner once per round, so a busy neighbour slows all alike);
medians and the ratio inspector / ultralytics per pair:

* torch: inspector's torch backend on the .pt vs ultralytics predict on the .pt;
* ONNX: inspector's ONNX Runtime backend on its own export vs ultralytics on its ONNX export;
* OpenVINO f32: inspector's OpenVINO backend (f32 hint) vs ultralytics' OpenVINO export compiled
  with the f32 hint (set here: ultralytics leaves the plugin's default);
* OpenVINO default: inspector bf16 (and bf16 with the rectangular input that fits the frame, and
  int8 when nncf is installed) vs ultralytics' OpenVINO export as it runs by default (bf16 on a CPU
  with AVX-512-BF16 or AMX: the plugin's default, which ultralytics keeps). On a CPU without bf16
  (AVX2 only, say) the default is f32: inspector f32 with the rectangular input takes bf16's rows.

For each inspector runner it also times the raw network forward on a ready input: ``forward
share`` = raw forward / whole pipeline (letterbox, forward, NMS, masks), the rest is overhead.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.bench.bench_engine import median_wall_cpu_ms
from tests.bench.bench_families import demo_as_ultralytics
from tests.support.reference import build_checkpoint, yolo

Run = Callable[[], object]


@dataclass
class Runner:
    name: str
    run: Run
    forward: Run | None = None  # raw network forward on a ready input (inspector runners)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    model: Any = None  # ultralytics runners: the YOLO object


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text()
    flags = ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx512f", "avx2")
    return ", ".join(flag for flag in flags if f" {flag}" in text)


def cycling(images: list[np.ndarray]) -> Callable[[], np.ndarray]:
    counter = iter(range(10**9))
    return lambda: images[next(counter) % len(images)]


def inspector_runner(
    name: str, model: Path, images: list[np.ndarray], args: argparse.Namespace, **engine: Any
) -> Runner:
    from inspector.engine import EngineConfig, load_engine

    config = EngineConfig(model=model, device="cpu", cpu_threads=args.threads, **engine)
    eng = load_engine(config)
    take = cycling(images)
    frame = images[0]
    x = eng.to_input([frame], eng.plans([frame]))

    def forward() -> object:
        with torch.inference_mode():
            return eng.run_network(x)

    return Runner(name, lambda: eng.infer([take()]), forward)


def export(fmt: str, source: Path, out: Path, args: argparse.Namespace, **options: Any) -> Path:
    from inspector.engine.export.registry import EXPORTERS, ExportRequest

    request = ExportRequest(
        source=source,
        output=out,
        imgsz=options.get("imgsz", (args.imgsz, args.imgsz)),
        frame=options.get("frame"),
        batch=1,
        half=False,
        int8_calib=options.get("int8_calib"),
        end2end=None,
    )
    result = EXPORTERS[fmt](request)
    print(f"  exported {result.path.name}: {result.detail}, max abs diff {result.max_abs_diff:.2g}")
    return result.path


def ultralytics_runner(
    name: str, weights: Path, images: list[np.ndarray], args: argparse.Namespace
) -> Runner:
    model = yolo(weights) if weights.suffix == ".pt" else _yolo_export(weights)
    take = cycling(images)
    model.predict(images[0], imgsz=args.imgsz, device="cpu", verbose=False)  # builds the predictor
    torch.set_num_threads(args.threads)  # ultralytics resets it

    def run() -> object:
        return model.predict(take(), imgsz=args.imgsz, device="cpu", verbose=False)

    return Runner(name, run, model=model)


def _yolo_export(path: Path) -> Any:
    from ultralytics import YOLO

    return YOLO(str(path), task="segment")


def force_f32(runner_model: Any, xml: Path) -> None:
    """Recompile ultralytics' OpenVINO model with the f32 hint (its own code keeps the default)."""
    import openvino as ov

    backend = runner_model.predictor.model.backend
    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    backend.compile_model = partial(core.compile_model, device_name="CPU", config=config)
    backend.ov_compiled_model = backend.compile_model(core.read_model(str(xml)))


def ultralytics_exports(pt: Path, args: argparse.Namespace) -> dict[str, Path]:
    from ultralytics import YOLO

    out: dict[str, Path] = {}
    for fmt in ("onnx", "openvino"):
        if not installed("onnxruntime" if fmt == "onnx" else "openvino"):
            continue
        made = YOLO(str(pt)).export(format=fmt, imgsz=args.imgsz, half=False, device="cpu", verbose=False)
        out[fmt] = Path(made)
    return out


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def build_runners(pt: Path, work: Path, images: list[np.ndarray], args: argparse.Namespace) -> list[Runner]:
    """Inspector and ultralytics runners; pairs are told by name in ``PAIRS``."""
    theirs = ultralytics_exports(pt, args)
    runners = [
        inspector_runner("inspector torch", pt, images, args, imgsz=args.imgsz),
        ultralytics_runner("ultralytics .pt", pt, images, args),
    ]
    if "onnx" in theirs:
        onnx = export("onnx", pt, work / "inspector.onnx", args)
        runners.append(inspector_runner("inspector onnxruntime", onnx, images, args, backend="onnxruntime"))
        runners.append(ultralytics_runner("ultralytics onnx", theirs["onnx"], images, args))
    if "openvino" in theirs:
        runners += openvino_runners(pt, work, images, args, theirs["openvino"])
    return runners


def openvino_runners(
    pt: Path, work: Path, images: list[np.ndarray], args: argparse.Namespace, theirs: Path
) -> list[Runner]:
    frame = images[0].shape[:2]
    square = export("openvino", pt, work / "square" / "inspector.xml", args)
    rect = export("openvino", pt, work / "rect" / "inspector.xml", args, frame=frame)
    runners = [inspector_runner("inspector openvino f32", square, images, args, backend="openvino")]
    if cpu_has_bf16():
        bf16 = {"backend": "openvino", "openvino": {"precision": "bf16"}}
        runners.append(inspector_runner("inspector openvino bf16", square, images, args, **bf16))
        runners.append(inspector_runner("inspector openvino bf16 rect", rect, images, args, **bf16))
    else:  # OpenVINO's default is then f32 too: the rectangular input is what is left to gain
        print("  this CPU has no bf16 (OpenVINO capabilities lack BF16): f32 rect instead of bf16")
        f32_rect = inspector_runner("inspector openvino f32 rect", rect, images, args, backend="openvino")
        runners.append(f32_rect)
    if installed("nncf"):
        runners += int8_runner(pt, work, images, args)
    f32 = ultralytics_runner("ultralytics openvino f32", theirs, images, args)
    force_f32(f32.model, next(theirs.glob("*.xml")))
    return [*runners, f32, ultralytics_runner("ultralytics openvino default", theirs, images, args)]


def cpu_has_bf16() -> bool:
    from tests.support.openvino import openvino_cpu_capabilities

    return "BF16" in openvino_cpu_capabilities()


def int8_runner(pt: Path, work: Path, images: list[np.ndarray], args: argparse.Namespace) -> list[Runner]:
    """int8 (NNCF, calibrated on 32 other boards), if it passes the start-up mask check."""
    import cv2

    from inspector.errors import ModelError
    from inspector.synth import BoardGenerator

    calib = work / "calib"
    calib.mkdir(exist_ok=True)
    height, width = images[0].shape[:2]
    boards = BoardGenerator((width, height), seed=11)
    for i in range(32):
        cv2.imwrite(str(calib / f"{i}.png"), boards.render(i)[0])
    frame = (height, width)
    int8 = export("openvino", pt, work / "int8" / "inspector.xml", args, frame=frame, int8_calib=calib)
    try:
        options = {"backend": "openvino", "openvino": {"precision": "int8"}}
        return [inspector_runner("inspector openvino int8 rect", int8, images, args, **options)]
    except ModelError as exc:
        print(f"  int8 refused at start: {exc}")
        return []


# (what is compared, inspector runner, ultralytics runner)
PAIRS = (
    ("torch, f32", "inspector torch", "ultralytics .pt"),
    ("ONNX, f32", "inspector onnxruntime", "ultralytics onnx"),
    ("OpenVINO, f32 vs f32", "inspector openvino f32", "ultralytics openvino f32"),
    ("OpenVINO, bf16 vs its default (bf16)", "inspector openvino bf16", "ultralytics openvino default"),
    (
        "OpenVINO, bf16 + rect input vs its default",
        "inspector openvino bf16 rect",
        "ultralytics openvino default",
    ),
    (
        "OpenVINO, f32 + rect input vs its default (f32: a CPU without bf16)",
        "inspector openvino f32 rect",
        "ultralytics openvino default",
    ),
    (
        "OpenVINO, int8 + rect input vs its default",
        "inspector openvino int8 rect",
        "ultralytics openvino default",
    ),
)


def measure(runners: list[Runner], args: argparse.Namespace) -> None:
    for _ in range(args.rounds):  # interleaved: every runner once per round
        for runner in runners:
            wall, cpu = median_wall_cpu_ms(runner.run, args.frames)
            runner.wall.append(wall)
            runner.cpu.append(cpu)
            if runner.forward is not None:
                runner.raw.append(median_wall_cpu_ms(runner.forward, args.frames)[0])


def report(runners: list[Runner], args: argparse.Namespace) -> None:
    by_name = {r.name: r for r in runners}
    med = {r.name: statistics.median(r.wall) for r in runners}
    print(f"\n{cpu_name()} ({cpu_flags()}), torch {torch.__version__}, {args.threads} threads, ")
    print(f"yolov8n-seg, imgsz {args.imgsz}, frames {args.size}, {args.rounds} rounds x {args.frames} frames")
    print("\n| runner | median ms/frame | raw forward ms | forward share |")
    print("| --- | ---: | ---: | ---: |")
    for r in runners:
        raw = statistics.median(r.raw) if r.raw else None
        share = f"{raw / med[r.name]:.2f}" if raw else ""
        print(f"| {r.name} | {med[r.name]:.1f} | {f'{raw:.1f}' if raw else ''} | {share} |")
    print("\n| comparison | inspector ms | ultralytics ms | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for what, ours, theirs in PAIRS:
        if ours in by_name and theirs in by_name:
            print(f"| {what} | {med[ours]:.1f} | {med[theirs]:.1f} | {med[ours] / med[theirs]:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="demo", help="demo (default), random, or an ultralytics best.pt")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--size", default="640x480", help="frame size WxH")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--frames", type=int, default=10, help="frames per runner per round")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from inspector.synth import BoardGenerator

    width, height = (int(v) for v in args.size.split("x"))
    boards = BoardGenerator((width, height), seed=5)
    images = [boards.render(i)[0] for i in range(8)]
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp:
        work = Path(tmp)
        if args.model == "demo":
            pt = demo_as_ultralytics(work / "demo-pcb-seg-ultralytics.pt")
        elif args.model == "random":
            pt = build_checkpoint(work / "yolov8n-seg.pt", scale="n", imgsz=args.imgsz)
        else:
            pt = Path(args.model)
        runners = build_runners(pt, work, images, args)
        measure(runners, args)
        report(runners, args)


if __name__ == "__main__":
    main()
