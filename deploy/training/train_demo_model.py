"""Training recipe of the shipped demo model ``inspector/models/demo-pcb-seg.pt``.

Trains YOLOv8n-seg (or, with ``--arch``, YOLO11n-seg / YOLO26n-seg) from its yaml (no
pretrained weights: none can be downloaded here) on boards from ``inspector.synth``, on CPU.
ultralytics is imported only here.

The shipped model is the end of a four-stage chain (each stage starts from the previous
stage's weights with ``--init``); the exact commands, per-stage epochs and metrics are in
``inspector/models/MODEL_CARD.md``. The stages as run were capped by wall time
(``--hours``); ``--hours 0`` trains exactly ``--epochs`` instead, which is how to rerun the
chain reproducibly (the card lists those commands). One stage, for example::

    PYTHONPATH=. nice -n 10 .venv/bin/python deploy/training/train_demo_model.py \\
        --workdir /work/data/demo-train --hours 0 --epochs 8 --name stage4 \\
        --train-count 800 --lr0 0.0005 --warmup-epochs 0 --init /work/data/demo-train/stage3-best.pt

then evaluate on the held-out seed and convert::

    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py \\
        --weights /work/data/demo-train/runs/stage4/weights/best.pt --workdir /work/data/demo-eval4
    PYTHONPATH=. .venv/bin/inspector model convert --force \\
        /work/data/demo-train/runs/stage4/weights/best.pt inspector/models/demo-pcb-seg.pt
    PYTHONPATH=. .venv/bin/python deploy/training/evaluate_demo_model.py --engine \\
        --workdir /work/data/demo-eval-engine   # the converted file, through inspector's engine
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

# libgomp's default spin-wait makes a 2-thread torch process ~10x slower when the cores are
# shared with other busy processes (measured here); passive waiting avoids it. Must be set
# before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
    """Render the training and validation boards at ``imgsz`` width (boards already on disk
    are reused: same seed and index give the same board); returns data.yaml."""
    lists = {}
    for name, seed, count, policy in (
        ("train", TRAIN_SEED, train_count, TRAIN_POLICY),
        ("val", VAL_SEED, val_count, DefectPolicy()),
    ):
        out = root / name
        todo = [i for i in range(count) if not (out / "images" / f"{i:06d}.png").exists()]
        t0 = time.monotonic()
        write_images(BoardGenerator(RENDER_SIZE, seed, policy), out, todo, store_width=imgsz)
        print(
            f"rendered {len(todo)} {name} boards (seed {seed}) in {time.monotonic() - t0:.0f} s", flush=True
        )
        listing = root / f"{name}-{count}.txt"
        listing.write_text("".join(f"{out / 'images' / f'{i:06d}.png'}\n" for i in range(count)))
        lists[name] = listing.name
    data = root / f"data-{train_count}-{val_count}.yaml"  # per size: runs side by side never clash
    write_data_yaml(data, root, train=lists["train"], val=lists["val"])
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, required=True, help="data, runs and config live here")
    p.add_argument("--train-count", type=int, default=800)
    p.add_argument("--val-count", type=int, default=60)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument(
        "--epochs",
        type=int,
        default=60,
        help="epochs to train; with --hours > 0 only a first guess, re-estimated after each epoch",
    )
    p.add_argument(
        "--hours",
        type=float,
        default=1.4,
        help="cap on training time (ultralytics time=: it re-fits the epoch count and the LR "
        "schedule to the time after every epoch); 0 = no cap, train exactly --epochs",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr0", type=float, default=0.0015, help="initial learning rate (lower to fine-tune)")
    p.add_argument("--warmup-epochs", type=float, default=1.0, help="0 when starting from trained weights")
    p.add_argument("--init", type=Path, default=None, help="start from these weights (a stage's last.pt)")
    p.add_argument("--name", default="train", help="run name under WORKDIR/runs")
    p.add_argument(
        "--arch",
        default="yolov8n-seg",
        choices=("yolov8n-seg", "yolo11n-seg", "yolo26n-seg"),
        help="the ultralytics model yaml to train from scratch (the shipped model: yolov8n-seg)",
    )
    args = p.parse_args(argv)

    work = args.workdir.resolve()
    offline_ultralytics(work / "yolo-config")
    data = make_dataset(work / "data", args.train_count, args.val_count, args.imgsz)

    import torch
    from ultralytics import YOLO

    def set_threads(_trainer: Any) -> None:
        torch.set_num_threads(args.threads)  # ultralytics resets it to cpu_count - 1

    model = YOLO(f"{args.arch}.yaml")
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
        # --init: weights of an earlier stage (schedule and optimiser start fresh); else from scratch
        pretrained=str(args.init) if args.init else False,
        amp=False,
        optimizer="AdamW",
        lr0=args.lr0,
        warmup_epochs=args.warmup_epochs,
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
        name=args.name,
        exist_ok=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
