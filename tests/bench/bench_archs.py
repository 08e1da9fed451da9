"""Per-frame time of the non-YOLO archs on ONNX Runtime and OpenVINO vs their eager reference
(torchvision / transformers) on the same random weights and the same frames.

    PYTHONPATH=. python tests/bench/bench_archs.py [--archs maskrcnn,maskrcnn-v2,segformer,detr]
        [--rounds 3] [--frames 3] [--threads 2]

Models are the full-size ones (Mask R-CNN R50-FPN v1/v2, SegFormer-B0 = MiT-b0 shapes, DETR-R50
panoptic), random-initialised by the packages themselves (nothing downloaded), patched so they
find instances as the tests' models do, exported with ``inspector model export --arch`` into a
temp folder (ONNX; OpenVINO runs the same graph). Inputs: 640x480 frames (SegFormer at 512x512,
its processor's size). Each pair runs interleaved (every runner once per round) so a busy
neighbour slows all alike; medians of the per-round medians, and the ratio inspector /
reference (target <= 0.7).

* reference Mask R-CNN: torchvision eager ``model([image])`` (masks pasted inside), min_size 480,
  max_size 640 (the export size);
* reference SegFormer: transformers eager forward + logits upsampled to the frame + argmax
  (``post_process_semantic_segmentation``); inspector adds the per-region instances;
* reference DETR: transformers eager forward + ``post_process_panoptic_segmentation``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.export.registry import ARCH_EXPORTERS, ExportRequest
from tests.bench.bench_engine import timed
from tests.support.archs import NAMES, as_tensor, frames, maskrcnn_model, require

Run = Callable[[], object]
HW = {"maskrcnn": (480, 640), "maskrcnn-v2": (480, 640), "segformer": (512, 512), "detr": (480, 640)}
ARCH = {
    "maskrcnn": "maskrcnn_resnet50_fpn",
    "maskrcnn-v2": "maskrcnn_resnet50_fpn_v2",
    "segformer": "segformer",
    "detr": "detr",
}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def full_segformer(folder: Path) -> tuple[Path, Any]:
    transformers = require("transformers")
    torch.manual_seed(11)
    config = transformers.SegformerConfig(num_labels=len(NAMES), id2label=dict(enumerate(NAMES)))
    model = transformers.SegformerForSemanticSegmentation(config).eval()
    model.save_pretrained(folder)
    return folder, model


def full_detr(folder: Path) -> tuple[Path, Any]:
    transformers = require("transformers")
    torch.manual_seed(5)
    backbone = transformers.ResNetConfig(out_features=["stage1", "stage2", "stage3", "stage4"])
    config = transformers.DetrConfig(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=backbone,
        num_labels=len(NAMES),
        id2label=dict(enumerate(NAMES)),
    )
    model = transformers.DetrForSegmentation(config).eval()
    with torch.no_grad():
        model.detr.class_labels_classifier.bias[: len(NAMES)] += 4.0
    model.save_pretrained(folder)
    return folder, model


def normalised(image: np.ndarray) -> torch.Tensor:
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    return (as_tensor(image)[None] - mean) / std


def reference(family: str, model: Any, image: np.ndarray) -> Run:
    if family.startswith("maskrcnn"):
        x = as_tensor(image)
        return lambda: model([x])
    x = normalised(image)
    if family == "segformer":

        def segformer() -> object:
            logits = model(pixel_values=x).logits
            up = torch.nn.functional.interpolate(
                logits, size=image.shape[:2], mode="bilinear", align_corners=False
            )
            return up.argmax(1)

        return segformer
    processor = require("transformers").DetrImageProcessor()
    return lambda: processor.post_process_panoptic_segmentation(
        model(pixel_values=x), threshold=0.5, label_ids_to_fuse=set(), target_sizes=[image.shape[:2]]
    )


def source_of(family: str, folder: Path) -> tuple[Path, Any]:
    if family.startswith("maskrcnn"):
        model = maskrcnn_model(family == "maskrcnn-v2", hw=HW[family])
        path = folder / f"{family}.pth"
        torch.save(model.state_dict(), path)
        return path, model
    if family == "segformer":
        return full_segformer(folder / family)
    return full_detr(folder / family)


def bench_family(family: str, folder: Path, args: argparse.Namespace) -> list[tuple[str, float, int]]:
    source, model = source_of(family, folder)
    images = frames(HW[family], count=args.frames, seed=9)
    runners: dict[str, list[Run]] = {"eager reference": [reference(family, model, im) for im in images]}
    found = 0
    out = folder / f"{family}.onnx"
    request = ExportRequest(
        source, out, HW[family], None, 1, False, None, None, arch=ARCH[family], names=NAMES, format="onnx"
    )
    for line in ARCH_EXPORTERS[ARCH[family]](request).checks:
        print(f"  {family} export: {line}", flush=True)
    for backend in ("onnxruntime", "openvino"):  # OpenVINO compiles the same ONNX graph an IR holds
        config = EngineConfig(
            model=out,
            device="cpu",
            backend=backend,
            cpu_threads=args.threads,
            conf=0.5,
            onnxruntime={"threads": args.threads},
            openvino={"precision": "f32", "threads": args.threads},
        )
        engine = load_engine(config)
        found = max(found, len(engine.infer([images[0]])[0]))
        runners[f"inspector {backend}"] = [lambda e=engine, im=im: e.infer([im]) for im in images]
    rounds: dict[str, list[float]] = {name: [] for name in runners}
    with torch.inference_mode():
        for run in (r for rs in runners.values() for r in rs[:1]):
            run()  # warm-up
        for _ in range(args.rounds):
            for name, runs in runners.items():
                rounds[name].append(statistics.median(timed(run)[0] for run in runs))
    return [(name, statistics.median(times), found) for name, times in rounds.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="maskrcnn,maskrcnn-v2,segformer,detr")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_name()}, {args.threads} threads; torch {torch.__version__}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-archs-") as tmp:
        for family in args.archs.split(","):
            results = bench_family(family, Path(tmp), args)
            ref = results[0][1]
            for name, ms, found in results:
                rows.append((family, name, ms, ms / ref, found))
                print(f"{family:12s} {name:22s} {ms:9.1f} ms  {ms / ref:5.2f}x reference", flush=True)
    print("\n| model | runner | median ms/frame | ratio vs reference |\n| --- | --- | ---: | ---: |")
    for family, name, ms, ratio, _ in rows:
        print(f"| {family} {HW[family][1]}x{HW[family][0]} | {name} | {ms:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
