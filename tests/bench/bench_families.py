"""Per-family CPU time: the inspector engine vs ultralytics predict, same weights, same boards.

    PYTHONPATH=. python tests/bench/bench_families.py [--cases v8 yolo11 yolo26 yolo26-e2e]
        [--imgsz 640] [--threads 2] [--images 8] [--rounds 4]

One case per model family the engine knows (scale n); YOLO26 twice: its default head (one-to-many
+ NMS, what ultralytics predict runs by default) and ``end2end`` (one-to-one head, top-k, no NMS;
predict with ``nms=False``). Weights: the shipped demo model for YOLOv8-seg (inspector's safe format,
loaded strictly into ultralytics' own SegmentationModel and saved by ultralytics, so both sides read
the same weights) and the 1-epoch trained best.pt files in tests/data/trained/ for YOLO11/26; cases
named ``-random`` use seeded random-initialised checkpoints built as the tests build them (scores
spread on purpose; their instance counts, and so NMS and mask time, are arbitrary).

Frames: 640x480 synthetic PCB boards from ``inspector.synth``. Each round sends every board through
inspector, ultralytics predict and ultralytics predict with ``retina_masks`` (masks at the original
size, as the engine returns them), one after the other, so drift on a shared machine hits all alike.
Medians of per-frame wall time; stage times as each side records them (inspector:
``Detections.timings_ms``; ultralytics: ``Results.speed``), post-processing = NMS/top-k + masks.
"""

from __future__ import annotations

import os

# As tests/bench/bench_pipeline.py: OpenMP's spinning wait slows torch badly on a shared CPU.
# Must be set before torch loads; pass OMP_WAIT_POLICY=active to measure the default.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from inspector.engine import DEMO_MODEL, Engine, EngineConfig, load_engine
from inspector.engine.families.topk import select_end_to_end
from inspector.engine.postprocess import select
from inspector.synth import BoardGenerator
from tests.bench.bench_engine import timed
from tests.support.families import reference_net, save_checkpoint
from tests.support.reference import build_checkpoint, setup_offline, yolo

TRAINED = Path(__file__).resolve().parents[1] / "data" / "trained"
STAGES = ("preprocess", "forward", "post")
# case -> (family, weights, engine.end2end, predict's nms).
CASES: dict[str, tuple[str, str, bool | str, bool | None]] = {
    "v8": ("yolov8", "trained", "auto", None),
    "v8-random": ("yolov8", "random", "auto", None),
    "yolo11": ("yolo11", "trained", "auto", None),
    "yolo11-random": ("yolo11", "random", "auto", None),
    "yolo26": ("yolo26", "trained", "auto", None),
    "yolo26-e2e": ("yolo26", "trained", True, False),
    "yolo26-random": ("yolo26", "random", "auto", None),
    "yolo26-e2e-random": ("yolo26", "random", True, False),
}
DEFAULT_CASES = ["v8", "yolo11", "yolo26", "yolo26-e2e"]


@dataclass
class Side:
    """One side of one case: per-frame wall/CPU ms, stage ms and instance counts."""

    name: str
    run: Callable[[np.ndarray], tuple[dict[str, float], int]]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    instances: list[int] = field(default_factory=list)

    def measure(self, image: np.ndarray) -> None:
        wall, cpu, (stages, count) = timed(lambda: self.run(image))
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.instances.append(count)
        for stage in STAGES:
            self.stages[stage].append(stages[stage])

    def median(self) -> float:
        return statistics.median(self.wall)


@dataclass
class Case:
    name: str
    weights: str
    engine: Engine
    sides: list[Side]
    candidates: float  # mean anchors per frame whose best class score passes conf (before NMS/top-k)
    selection_ms: float  # mean ms of the engine's NMS/top-k alone (part of its post-processing)


def demo_as_ultralytics(path: Path) -> Path:
    """The shipped demo model's weights in ultralytics' SegmentationModel, saved by ultralytics."""
    setup_offline()
    content = torch.load(DEMO_MODEL, map_location="cpu", weights_only=True)
    threads = torch.get_num_threads()
    from ultralytics.nn.tasks import SegmentationModel

    net = SegmentationModel(f"yolov8{content['scale']}-seg.yaml", nc=content["nc"], verbose=False)
    torch.set_num_threads(threads)
    net.load_state_dict({k: v.float() for k, v in content["state_dict"].items()}, strict=True)
    for name, module in net.named_modules():
        if name in content["bn_eps"]:
            module.eps = content["bn_eps"][name]
    return save_checkpoint(net.eval(), path, "yolov8", content["scale"], max(content["imgsz"]))


def checkpoint(family: str, weights: str, tmp: Path) -> tuple[Path, str]:
    """The case's weights file and how to name it in the output."""
    if weights == "trained" and family == "yolov8":
        return demo_as_ultralytics(tmp / "demo-pcb-seg-ultralytics.pt"), "demo-pcb-seg.pt (trained)"
    if weights == "trained":
        path = TRAINED / f"{family}n-seg-best.pt"
        return path, f"{path.name} (1 epoch)"
    path = tmp / f"{family}n-seg-random.pt"
    if path.exists():  # the YOLO26 file serves both heads
        return path, "random init, spread scores"
    if family == "yolov8":
        return build_checkpoint(path, "n"), "random init, spread scores"
    return save_checkpoint(reference_net(family, "n", 5), path, family, "n"), "random init, spread scores"


def selection_load(engine: Engine, images: list[np.ndarray]) -> tuple[float, float]:
    """Mean candidates per frame (anchors whose best class score passes conf) and mean ms of the
    engine's NMS or top-k alone on them (best of 3; timed apart from the rounds): how much of the
    post-processing is selection, the rest being masks."""
    counts, times = [], []
    nc = len(engine.names)
    choose = select_end_to_end if engine.info.end2end else select  # as Engine.detections picks
    with torch.no_grad():
        for image in images:
            preds, _ = engine.run_network(engine.to_input([image], engine.plans([image])))
            pred = preds[0].float()
            counts.append(int((pred[4 : 4 + nc].amax(0) > engine.config.conf).sum()))
            times.append(min(timed(partial(choose, pred, nc, engine.nms))[0] for _ in range(3)))
    return statistics.mean(counts), statistics.mean(times)


def make_case(name: str, images: list[np.ndarray], args: argparse.Namespace, tmp: Path) -> Case:
    family, kind, end2end, nms = CASES[name]
    path, weights = checkpoint(family, kind, tmp)
    config = EngineConfig(
        model=path, device="cpu", imgsz=args.imgsz, cpu_threads=args.threads, end2end=end2end
    )
    engine = load_engine(config)
    reference = yolo(path)

    def ours(image: np.ndarray) -> tuple[dict[str, float], int]:
        (det,) = engine.infer([image])
        ms = dict(det.timings_ms)
        return {"preprocess": ms["preprocess"], "forward": ms["inference"], "post": ms["postprocess"]}, len(
            det
        )

    def theirs(retina: bool) -> Callable[[np.ndarray], tuple[dict[str, float], int]]:
        def run(image: np.ndarray) -> tuple[dict[str, float], int]:
            (result,) = reference.predict(
                image, imgsz=args.imgsz, conf=config.conf, iou=config.iou, nms=nms,
                retina_masks=retina, device="cpu", verbose=False,
            )  # fmt: skip
            ms = result.speed
            stages = {"preprocess": ms["preprocess"], "forward": ms["inference"], "post": ms["postprocess"]}
            return stages, len(result.boxes) if result.boxes is not None else 0

        return run

    sides = [
        Side("inspector", ours),
        Side("ultralytics", theirs(False)),
        Side("ultralytics retina", theirs(True)),
    ]
    for side in sides:  # builds the predictor, mask-resize plans for the frame size, caches
        for image in images[:2]:
            side.run(image)
    head = "one-to-one, top-k" if engine.info.end2end else "one-to-many, NMS"
    label = f"{engine.info.arch} ({head})" if family == "yolo26" else engine.info.arch
    return Case(label, weights, engine, sides, *selection_load(engine, images))


def run_rounds(cases: list[Case], images: list[np.ndarray], rounds: int, threads: int) -> None:
    torch.set_num_threads(threads)  # ultralytics resets it when it builds a model or predictor
    for _ in range(rounds):
        for case in cases:
            for image in images:  # inspector, ultralytics, ultralytics retina, next board, ...
                for side in case.sides:
                    side.measure(image)
    if torch.get_num_threads() != threads:
        raise SystemExit(f"torch ran with {torch.get_num_threads()} threads, not {threads}: figures invalid")


def cpu_line() -> str:
    """CPU model name and the matrix-extension flags that decide oneDNN's fastest kernels."""
    text = Path("/proc/cpuinfo").read_text()
    name = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "?")
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")
    present = [f for f in wanted if f in flags] or ["none of avx2/avx512/amx"]
    return f"{name}, {os.cpu_count()} logical CPUs; flags: {', '.join(present)}"


def header(args: argparse.Namespace, load_start: tuple[float, ...]) -> list[str]:
    import ultralytics

    load_end = os.getloadavg()
    return [
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPU {cpu_line()}",
        f"torch {torch.__version__}, ultralytics {ultralytics.__version__}, OpenCV {cv2.__version__}, "
        f"numpy {np.__version__}; torch threads {args.threads}, OpenCV threads {cv2.getNumThreads()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}",
        f"{args.images} boards {args.size} (inspector.synth, seed {args.seed}) x {args.rounds} rounds, imgsz "
        f"{args.imgsz}, conf 0.25, iou 0.7, batch 1",
        "load average (1/5/15 min) at start "
        + "/".join(f"{v:.2f}" for v in load_start)
        + ", at end "
        + "/".join(f"{v:.2f}" for v in load_end)
        + ": a shared machine; absolute times are inflated, the interleaved ratios are what counts",
    ]


def tables(cases: list[Case]) -> list[str]:
    lines = [
        "| model | weights | instances/frame, mean ours/ultra (range) | candidates > conf | inspector ms | "
        "ultralytics ms | ratio | ultralytics retina_masks ms | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        ours, theirs, retina = case.sides
        lines.append(
            f"| {case.name} | {case.weights} | {statistics.mean(ours.instances):.1f} / "
            f"{statistics.mean(theirs.instances):.1f} ({min(ours.instances)}-{max(ours.instances)}) | "
            f"{case.candidates:.0f} | {ours.median():.1f} | "
            f"{theirs.median():.1f} | {ours.median() / theirs.median():.2f} | {retina.median():.1f} | "
            f"{ours.median() / retina.median():.2f} |"
        )
    lines += [
        "",
        "| model | side | preprocess ms | forward ms | post-processing ms | of which NMS/top-k ms | "
        "outside stages ms | post-processing share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:  # means: instance counts differ per board, so stage medians would not add up
        for side in case.sides:
            pre, fwd, post = (statistics.mean(side.stages[s]) for s in STAGES)
            outside = statistics.mean(side.wall) - pre - fwd - post
            selection = f"{case.selection_ms:.1f}" if side is case.sides[0] else "-"
            lines.append(
                f"| {case.name} | {side.name} | {pre:.1f} | {fwd:.1f} | {post:.1f} | {selection} | "
                f"{outside:.1f} | {post / (pre + fwd + post):.0%} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=list(CASES))
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--size", default="640x480", help="board WxH")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    load_start = os.getloadavg()
    w, h = (int(v) for v in args.size.split("x"))
    boards = BoardGenerator((w, h), seed=args.seed)
    images = [boards.render(i)[0] for i in range(args.images)]
    with tempfile.TemporaryDirectory() as tmp:
        cases = [make_case(name, images, args, Path(tmp)) for name in args.cases]
        t0 = time.perf_counter()
        run_rounds(cases, images, args.rounds, args.threads)
        elapsed = time.perf_counter() - t0
    print("\n".join(header(args, load_start)))
    print(
        f"timed part {elapsed:.0f} s; ms = median wall time per frame; ratio = inspector / ultralytics "
        "(below 1: inspector is faster); stage table: mean ms per frame as each side records them\n"
    )
    print("\n".join(tables(cases)))


if __name__ == "__main__":
    main()
