"""ultralytics as the reference implementation, for tests and benchmarks only (never at run time).

``setup_offline()`` must run before ``import ultralytics``: it keeps ultralytics off the
network and out of the user's config dir. ``build_checkpoint()`` writes a small, seeded,
random-initialised YOLOv8-seg checkpoint with ``model.save()``, its class branch's last
biases randomised so scores spread over (0, 1) instead of sitting near 1e-5.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from inspector.engine.loaders import load_model
from inspector.engine.network import RawHead
from inspector.messages import Detections

DEMO_NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")

_config_dir: Path | None = None


def setup_offline() -> Path:
    """Point ultralytics at a private temp config dir with a font, offline, no auto-install."""
    global _config_dir
    if _config_dir is None:
        import matplotlib

        _config_dir = Path(tempfile.mkdtemp(prefix="yolo-config-"))
        atexit.register(shutil.rmtree, _config_dir, True)
        font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        (_config_dir / "Ultralytics").mkdir(parents=True, exist_ok=True)
        shutil.copy(font, _config_dir / "Ultralytics" / "Arial.ttf")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(_config_dir))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    return _config_dir


def yolo(model: str | Path) -> Any:
    """An ultralytics ``YOLO`` object for a yaml name or a checkpoint path (offline)."""
    setup_offline()
    import torch
    from ultralytics import YOLO

    threads = torch.get_num_threads()
    try:
        return YOLO(str(model), task="segment")
    finally:
        torch.set_num_threads(threads)  # ultralytics resets the thread count on import/build


def synthetic_image(height: int, width: int, seed: int) -> np.ndarray:
    """A BGR uint8 test image: smooth colour noise with a few filled circles and rectangles."""
    rng = np.random.default_rng(seed)
    cell = int(rng.integers(4, 24))
    coarse = rng.integers(0, 256, (height // cell + 2, width // cell + 2, 3), dtype=np.uint8)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(4, max(5, min(height, width) // 4)))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), size, colour, -1)
        else:
            cv2.rectangle(image, (x - size, y - size // 2), (x + size, y + size // 2), colour, -1)
    return image


def as_batch(images: list[np.ndarray]) -> Any:
    """BGR uint8 images of one size as an RGB float batch in [0, 1] (what the network sees)."""
    import torch

    return torch.from_numpy(np.stack(images)[..., ::-1].copy()).permute(0, 3, 1, 2).float() / 255


def calibration_batch(generator: Any, imgsz: int, n: int = 8) -> Any:
    """Letterboxed synthetic images of varied aspect ratios (grey padding included, as at inference)."""
    import torch

    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        h, w = (int(v) for v in rng.integers(imgsz // 3, imgsz * 2, 2))
        image = synthetic_image(h, w, seed + i)
        r = min(imgsz / h, imgsz / w)
        image = cv2.resize(image, (max(round(w * r), 1), max(round(h * r), 1)))
        canvas = np.full((imgsz, imgsz, 3), 114, dtype=np.uint8)
        canvas[: image.shape[0], : image.shape[1]] = image
        images.append(canvas)
    return as_batch(images)


def calibrate_batchnorm(net: Any, generator: Any, imgsz: int) -> None:
    """Set BatchNorm statistics from one batch of smooth random images.

    With default statistics (mean 0, var 1) activations of a random network fade
    layer by layer until every anchor gets the same score, which makes NMS order
    (and any comparison) arbitrary; calibrated statistics keep features varied.
    """
    import torch

    images = calibration_batch(generator, imgsz)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in norms:
        bn.momentum = 1.0
    net.train()
    with torch.no_grad():
        net(images)
    for bn in norms:
        bn.momentum = 0.03
    net.eval()


def spread_class_scores(
    net: Any, generator: Any, imgsz: int, mean: float = -4.0, std: float = 1.5, branches: str = "cv3"
) -> None:
    """Rescale each class branch's last conv so logits on smooth images are about N(mean, std²),
    plus a random per-class offset: scores spread over (0, 1), few anchors pass conf=0.25.
    ``branches`` names the head's class-branch list (YOLO26 also has ``one2one_cv3``)."""
    import torch

    head = net.model[-1]
    outputs: list[torch.Tensor] = []
    hooks = [b[-1].register_forward_hook(lambda m, i, o: outputs.append(o)) for b in getattr(head, branches)]
    images = calibration_batch(generator, imgsz)
    with torch.no_grad():
        net(images)
        for hook in hooks:
            hook.remove()
        for branch, out in zip(getattr(head, branches), outputs, strict=False):
            conv = branch[-1]
            gain = std / float(out.std().clamp(min=1e-6))
            conv.weight.mul_(gain)
            offset = torch.empty(conv.bias.shape).uniform_(-1.0, 1.0, generator=generator)
            conv.bias.copy_((conv.bias - out.mean(dim=(0, 2, 3))) * gain + mean + offset)


def build_checkpoint(
    path: str | Path,
    scale: str = "n",
    nc: int = len(DEMO_NAMES),
    names: tuple[str, ...] | None = None,
    seed: int = 0,
    imgsz: int = 320,
) -> Path:
    """Write a random-initialised ``yolov8{scale}-seg`` checkpoint (fp16 inside, as ultralytics saves)."""
    import torch

    model = yolo(f"yolov8{scale}-seg.yaml")
    from ultralytics.nn.tasks import SegmentationModel

    torch.manual_seed(seed)
    net = SegmentationModel(f"yolov8{scale}-seg.yaml", nc=nc, verbose=False)
    model.model = net
    if names is None:
        names = DEMO_NAMES if nc == len(DEMO_NAMES) else tuple(f"class{i}" for i in range(nc))
    net.names = dict(enumerate(names))
    generator = torch.Generator().manual_seed(seed + 1)
    calibrate_batchnorm(net, generator, imgsz)
    spread_class_scores(net, generator, imgsz)
    # What ultralytics reads back as the training size (its predict default), as in a trained best.pt.
    model.ckpt = {"train_args": {"imgsz": imgsz, "task": "segment", "model": f"yolov8{scale}-seg.yaml"}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def masks_agree(ours: torch.Tensor, ref: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Per instance (N, H, W masks, N boxes): IoU >= 0.98, or the masks differ by no more pixels
    than one row or column of the box holds. float32 noise in these ill-conditioned random
    networks moves a box edge across a pixel boundary (the crop then takes or leaves a row), or
    flips a pixel whose logit is within noise of the threshold: on a small mask either drops the
    IoU under 0.98 without a real difference (seen: 11 pixels of a 198-pixel mask, IoU 0.947; one
    pixel of a 42-pixel one on an AVX2-only CPU, 0.976)."""
    xor = (ours ^ ref).flatten(1).sum(1)
    union = (ours | ref).flatten(1).sum(1)
    one_edge = (boxes[:, 2:] - boxes[:, :2]).max(1).values.ceil() + 1
    return (xor <= 0.02 * union) | (xor <= one_edge)


def assert_same_detections(ours: Detections, ref: object, image: np.ndarray) -> None:
    boxes = ref.boxes  # type: ignore[attr-defined]
    assert len(ours) == len(boxes), f"{len(ours)} instances vs reference {len(boxes)}"
    if not len(ours):
        return
    assert (ours.boxes - boxes.xyxy).abs().max() <= 1.0
    assert torch.equal(ours.class_ids, boxes.cls.long())
    torch.testing.assert_close(ours.scores, boxes.conf, rtol=1e-3, atol=1e-3)
    ref_masks = ref.masks.data.bool()  # type: ignore[attr-defined]
    assert ours.masks.shape == ref_masks.shape == (len(ours), *image.shape[:2])
    assert ours.masks.dtype == torch.bool
    fits = masks_agree(ours.masks, ref_masks, boxes.xyxy)
    assert bool(fits.all()), (  # the message (evaluated only on a failure) counts the differing pixels
        f"masks differ by {(ours.masks ^ ref_masks)[~fits].flatten(1).sum(1).tolist()} pixels, "
        f"boxes {boxes.xyxy[~fits].tolist()}"
    )


def float32_noise(source: Path, end2end: bool, x: torch.Tensor, nc: int) -> list[float]:
    """How far torch's own float32 outputs are from float64 ones: predictions, prototypes, class
    scores. Random-initialised YOLO11 and YOLO26 are ill-conditioned: boxes reach ~600 px and
    prototypes ~50, where float32 alone is 0.02-0.25 px off, and YOLO26's scores up to 2e-3."""
    module = load_model(source, torch.device("cpu"), True if end2end else None).module
    with torch.no_grad():
        f32, f64 = module(x), module.double()(x.double())
    noise = [float((a.double() - b).abs().max()) for a, b in zip(f32, f64, strict=True)]
    return [*noise, float((f32[0][:, 4 : 4 + nc].double() - f64[0][:, 4 : 4 + nc]).abs().max())]


def assert_raw_close(ours: RawHead, theirs: RawHead, nc: int, noise: list[float]) -> None:
    """Every output, and the class scores (what selects instances) alone, within 1e-3 plus twice
    torch's own float32 error: the runtime's result is as exact as torch's."""
    pairs = [*zip(ours, theirs, strict=True), (ours[0][:, 4 : 4 + nc], theirs[0][:, 4 : 4 + nc])]
    diffs = []
    for (ours_t, theirs_t), f32_error in zip(pairs, noise, strict=True):
        assert ours_t.shape == theirs_t.shape and ours_t.device.type == "cpu"
        diffs.append(float((ours_t - theirs_t).abs().max()))
        assert diffs[-1] <= 1e-3 + 2 * f32_error, f"max abs diffs {diffs}, torch's own float32 error {noise}"
