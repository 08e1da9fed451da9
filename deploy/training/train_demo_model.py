"""Training recipe of the shipped demo model ``inspector/models/demo-pcb-seg.pt``.

Trains YOLOv8n-seg from its yaml (no pretrained weights: none can be downloaded here)
on boards from ``inspector.synth``, on CPU. ultralytics is imported only here.

Exact command used for the shipped model (see inspector/models/MODEL_CARD.md)::

    PYTHONPATH=. nice -n 10 .venv/bin/python deploy/training/train_demo_model.py \\
        --workdir /work/data/demo-train

then evaluate on a held-out seed and convert::

    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py \\
        --weights /work/data/demo-train/runs/train/weights/best.pt --workdir /work/data/demo-eval
    PYTHONPATH=. .venv/bin/inspector model convert <best.pt> inspector/models/demo-pcb-seg.pt
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from inspector.synth import BoardGenerator, DefectPolicy
from inspector.synth.export import write_data_yaml, write_images

TRAIN_SEED = 1001  # boards 0..train_count-1 of this seed train the model
VAL_SEED = 2002  # per-epoch validation (model selection); the final evaluation uses another seed
RENDER_SIZE = (640, 480)  # the demo camera's frame size; stored downscaled to the training size
# Training boards carry more defects than the demo line so every defect class is well represented.
TRAIN_POLICY = DefectPolicy(defect_board_rate=0.85, max_defects=5)


def offline_ultralytics(config_dir: Path) -> None:
    """Environment so ultralytics never reaches the network (and finds a font locally)."""
    import matplotlib

    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_CONFIG_DIR=str(config_dir))
    font_dir = config_dir / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not (font_dir / "Arial.ttf").exists():
        shutil.copy(font, font_dir / "Arial.ttf")


def make_dataset(root: Path, train_count: int, val_count: int, imgsz: int) -> Path:
    """Render (once) the training and validation boards at ``imgsz`` width; returns data.yaml."""
    for name, seed, count, policy in (
        ("train", TRAIN_SEED, train_count, TRAIN_POLICY),
        ("val", VAL_SEED, val_count, DefectPolicy()),
    ):
        out = root / name
        if out.exists() and len(list((out / "images").glob("*.png"))) == count:
            continue  # already rendered (same seed and count give the same boards)
        t0 = time.monotonic()
        write_images(BoardGenerator(RENDER_SIZE, seed, policy), out, range(count), store_width=imgsz)
        print(f"rendered {count} {name} boards (seed {seed}) in {time.monotonic() - t0:.0f} s", flush=True)
    data = root / "data.yaml"
    write_data_yaml(data, root, train="train/images", val="val/images")
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, required=True, help="data, runs and config live here")
    p.add_argument("--train-count", type=int, default=1600)
    p.add_argument("--val-count", type=int, default=120)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--epochs", type=int, default=60, help="upper bound; --hours usually stops first")
    p.add_argument("--hours", type=float, default=1.45, help="hard cap on training time (ultralytics time=)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args(argv)

    work = args.workdir.resolve()
    offline_ultralytics(work / "yolo-config")
    data = make_dataset(work / "data", args.train_count, args.val_count, args.imgsz)

    import torch
    from ultralytics import YOLO

    def set_threads(_trainer: Any) -> None:
        torch.set_num_threads(args.threads)  # ultralytics resets it to cpu_count - 1

    model = YOLO("yolov8n-seg.yaml")
    model.add_callback("on_pretrain_routine_end", set_threads)
    model.add_callback("on_train_start", set_threads)
    model.train(
        data=str(data),
        epochs=args.epochs,
        time=args.hours,
        imgsz=args.imgsz,
        batch=args.batch,
        nbs=args.batch,  # one optimiser step per batch: few images, few steps otherwise
        device="cpu",
        workers=1,
        cache="ram",
        pretrained=False,
        amp=False,
        optimizer="AdamW",
        lr0=0.002,
        warmup_epochs=1,
        close_mosaic=2,
        patience=100,
        seed=0,
        deterministic=False,
        hsv_s=0.3,  # copper vs. silver is the cue between missing and good joints: keep colour
        hsv_v=0.3,
        scale=0.25,
        degrees=3.0,
        flipud=0.5,
        plots=False,
        project=str(work / "runs"),
        name="train",
        exist_ok=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
