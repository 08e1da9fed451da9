"""ultralytics reference networks for the YOLO11-seg and YOLO26-seg families (tests only).

Like ``reference.build_checkpoint`` for v8: seeded random weights, BatchNorm statistics
calibrated on smooth images, class-branch logits spread so scores spread over (0, 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tests.support.reference import calibrate_batchnorm, setup_offline, spread_class_scores, yolo

# Logit (mean, std) per family for spread_class_scores. v8's (-4, 1.5) saturates these heads: on
# other images than the calibration batch their logits stray further, and scores tie at 1.0.
# Measured at n, imgsz 320, on synthetic_image 240x320/320x200/300x300/180x400 (predict, conf 0.25):
# yolo11 (-5, 0.5): 94/0/150/0 instances, none above 0.999 ((-4, 0.75): 300/14/300/9);
# yolo26 (-4, 0.75): 189/52/147/52 with NMS, 179/61/146/80 end-to-end, 3 above 0.999.
SCORE_SPREAD = {"yolo11": (-5.0, 0.5), "yolo26": (-4.0, 0.75)}


def reference_net(family: str, scale: str, nc: int, seed: int = 0, imgsz: int = 256) -> Any:
    """ultralytics' ``SegmentationModel`` for ``{family}{scale}-seg.yaml``, eval mode, fp32."""
    setup_offline()
    threads = torch.get_num_threads()  # before the import: ultralytics resets it on import and build
    from ultralytics.nn.tasks import SegmentationModel

    torch.manual_seed(seed)
    net = SegmentationModel(f"{family}{scale}-seg.yaml", nc=nc, verbose=False)
    torch.set_num_threads(threads)  # calibration sums in the same order whatever ran before
    generator = torch.Generator().manual_seed(seed + 1)
    calibrate_batchnorm(net, generator, imgsz)
    for branches in ("cv3", "one2one_cv3") if family == "yolo26" else ("cv3",):
        mean, std = SCORE_SPREAD[family]
        spread_class_scores(net, generator, imgsz, mean=mean, std=std, branches=branches)
    return net.eval()


def save_checkpoint(net: Any, path: Path, family: str, scale: str, imgsz: int = 256) -> Path:
    """Write ``net`` with ultralytics' own ``model.save()`` (fp16 inside), as a trained best.pt would be."""
    model = yolo(f"{family}{scale}-seg.yaml")
    model.model = net
    net.names = {i: f"class{i}" for i in range(net.model[-1].nc)}
    model.ckpt = {"train_args": {"imgsz": imgsz, "task": "segment", "model": f"{family}{scale}-seg.yaml"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def copy_batchnorm_eps(ours: torch.nn.Module, ref: torch.nn.Module) -> None:
    """BatchNorm ``eps`` lives outside the state dict (ultralytics uses 1e-3, torch 1e-5)."""
    eps = {name: m.eps for name, m in ref.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    for name, module in ours.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = eps[name]


def reference_shapes(family: str, scale: str, nc: int) -> tuple[int, dict[str, tuple[int, ...]]]:
    """Parameter count and state-dict shapes of ultralytics' network for the yaml, built by its own
    ``parse_model`` on the meta device (no memory, no random init: l/x cost nothing)."""
    setup_offline()
    from ultralytics.nn.tasks import parse_model, yaml_model_load

    spec = yaml_model_load(f"{family}{scale}-seg.yaml")
    spec["nc"] = nc
    with torch.device("meta"):
        layers, _ = parse_model(spec, ch=3, verbose=False)
    shapes = {f"model.{k}": tuple(v.shape) for k, v in layers.state_dict().items()}
    return sum(p.numel() for p in layers.parameters()), shapes


def loaded_copy(ours: torch.nn.Module, ref: torch.nn.Module) -> torch.nn.Module:
    """``ours`` with ``ref``'s weights loaded strictly and its BatchNorm eps, in eval mode."""
    ours.load_state_dict(ref.state_dict(), strict=True)
    copy_batchnorm_eps(ours, ref)
    return ours.eval()


def assert_close_after_folding(fused: torch.Tensor, ref: torch.Tensor) -> None:
    """BatchNorm folded into convs: equal up to float rounding relative to the output's scale.

    Random weights amplify the rounding (prototypes reach ~70); measured at n/s, 224x288:
    ultralytics' own ``fuse()`` moves its outputs by up to 4e-4 of the scale, ours by up to 6e-4.
    """
    torch.testing.assert_close(fused, ref, rtol=0, atol=2e-3 * float(ref.abs().max()))
