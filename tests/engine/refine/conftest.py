"""Random-weight SAM-family checkpoints built by ultralytics' builders (nothing downloaded),
saved as the released ``.pt`` files are, and their exported encoder/decoder pairs; built once
per session (each encoder export takes a minute on two cores)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inspector.cli import main

ARCHS = ("sam-mobile", "sam2.1-t")
FILE_NAMES = {"sam-mobile": "mobile_sam.pt", "sam2.1-t": "sam2.1_t.pt", "sam-vit-b": "sam_b.pt"}


def require_ultralytics() -> None:
    """Skip without ultralytics (the reference and the builders) locally; fail under CI."""
    if importlib.util.find_spec("ultralytics") is not None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail("ultralytics is not installed but CI is set: install inspector[dev]", pytrace=False)
    pytest.skip("ultralytics not installed (the reference extra)")


def reference_module(arch: str) -> Any:
    """ultralytics' SAM module for ``arch``, random weights (seeded)."""
    require_ultralytics()
    from tests.support.reference import setup_offline

    setup_offline()
    from ultralytics.models.sam.build import build_mobile_sam, build_sam2_t, build_sam_vit_b

    threads = torch.get_num_threads()
    torch.manual_seed(7)
    builders = {"sam-mobile": build_mobile_sam, "sam2.1-t": build_sam2_t, "sam-vit-b": build_sam_vit_b}
    model = builders[arch]()
    torch.set_num_threads(threads)
    if not arch.startswith("sam2"):  # random SAM 1 predicts IoU ~ -0.13: the predictor would keep no mask
        with torch.no_grad():
            model.mask_decoder.iou_prediction_head.layers[-1].bias += 1.0
    return model.eval()


def save_like_release(arch: str, model: Any, path: Path) -> Path:
    """MobileSAM ships a bare state dict; SAM 2.1 ``{"model": state dict}`` with its 2.1-only
    memory parameter (unused for one image)."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if arch == "sam2.1-t":
        state["no_obj_embed_spatial"] = torch.zeros(1, 64)
        torch.save({"model": state}, path)
    else:
        torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def sam_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Any, Path, Path]]:
    """``sam_models(arch)`` → (ultralytics module, its ``.pt``, the exported pair folder)."""
    folder = tmp_path_factory.mktemp("sam")
    made: dict[str, tuple[Any, Path, Path]] = {}

    def get(arch: str) -> tuple[Any, Path, Path]:
        if arch not in made:
            model = reference_module(arch)
            checkpoint = save_like_release(arch, model, folder / FILE_NAMES[arch])
            pair = folder / arch
            code = main(
                ["model", "export", str(checkpoint), "--arch", "sam", "--format", "onnx", "-o", str(pair)]
            )
            assert code == 0
            made[arch] = (model, checkpoint, pair)
        return made[arch]

    return get


def textured_frame(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth random colours with a few bright rectangles: something for the encoder to see."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (max(height // 40, 2), max(width // 40, 2), 3), dtype=np.uint8)
    frame = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    for _ in range(3):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        frame[y : y + 50, x : x + 60] = 240
    return frame
