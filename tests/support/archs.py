"""Random-weight Mask R-CNN, SegFormer and DETR panoptic models, built offline by torchvision /
transformers themselves, for tests and benchmarks (never at run time). Each is patched so a
random model finds something: biases of the class scores raised, mask logits smoothed.

``require(module)`` skips a test when an export-time package is missing, and fails it under
CI=true (the dev extra installs them there).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from inspector.engine.export.maskrcnn_settings import builder_kwargs

MASKRCNN_HW = (240, 320)
SEGFORMER_HW = (128, 160)
DETR_HW = (128, 160)
NAMES = ("scratch", "dent", "stain")


def require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{module} is missing but CI is set: the dev extra must install it", pytrace=False)
        pytest.skip(f"{module} is not installed (pip install 'inspector[export]')")


def maskrcnn_model(
    v2: bool,
    classes: int = len(NAMES) + 1,
    hw: tuple[int, int] = MASKRCNN_HW,
    settings: Sequence[tuple[str, float]] = (),
) -> torch.nn.Module:
    """A seeded random torchvision Mask R-CNN at ``hw`` whose detections exist: some classes'
    score biases raised (+3, +2), the mask logits scaled down (smooth masks); ``settings``:
    test-time settings as ``--setting`` gives them."""
    detection = require("torchvision.models.detection")
    torch.manual_seed(7 if v2 else 3)
    builder = detection.maskrcnn_resnet50_fpn_v2 if v2 else detection.maskrcnn_resnet50_fpn
    model = builder(
        weights=None,
        weights_backbone=None,
        num_classes=classes,
        min_size=min(hw),
        max_size=max(hw),
        **builder_kwargs(settings),
    )
    with torch.no_grad():
        bias = model.roi_heads.box_predictor.cls_score.bias
        bias[1] += 3.0
        bias[2 % classes] += 2.0
        logits = model.roi_heads.mask_predictor.mask_fcn_logits
        logits.weight.mul_(0.05)
        logits.bias.fill_(2.0)
    return model.eval()


def maskrcnn_state_file(folder: Path, v2: bool) -> Path:
    path = folder / f"maskrcnn-{'v2' if v2 else 'v1'}.pth"
    torch.save(maskrcnn_model(v2).state_dict(), path)
    return path


def segformer_folder(folder: Path, labels: int = len(NAMES)) -> Path:
    """A SegformerForSemanticSegmentation (MiT-b0 shapes) saved with ``save_pretrained``; its
    classifier bias spread so each class wins somewhere."""
    transformers = require("transformers")
    torch.manual_seed(11)
    config = transformers.SegformerConfig(num_labels=labels, id2label=dict(enumerate(NAMES[:labels])))
    config.label2id = {v: k for k, v in config.id2label.items()}
    model = transformers.SegformerForSemanticSegmentation(config).eval()
    with torch.no_grad():
        model.decode_head.classifier.weight.mul_(4.0)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def detr_folder(folder: Path, labels: int = len(NAMES)) -> Path:
    """A small DetrForSegmentation (ResNet backbone from its config: nothing downloaded). Its
    random queries collapse to one class: a few segments of class 0 per frame."""
    transformers = require("transformers")
    torch.manual_seed(5)
    backbone = transformers.ResNetConfig(
        embedding_size=16,
        hidden_sizes=[16, 32, 64, 128],
        depths=[1, 1, 1, 1],
        layer_type="basic",
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    config = transformers.DetrConfig(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=backbone,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_queries=20,
        num_labels=labels,
        id2label=dict(enumerate(NAMES[:labels])),
    )
    config.label2id = {v: k for k, v in config.id2label.items()}
    model = transformers.DetrForSegmentation(config).eval()
    with torch.no_grad():  # a random DETR's queries all agree: confident classes, sharper masks
        model.detr.class_labels_classifier.bias[:labels] += torch.linspace(5.0, 4.0, labels)
        model.mask_head.output_conv.weight.mul_(30.0)
        model.mask_head.output_conv.bias.fill_(2.0)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def frames(hw: tuple[int, int], count: int = 4, seed: int = 0) -> list[np.ndarray]:
    """Smooth random BGR frames with some structure (a few filled shapes)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        coarse = rng.integers(0, 256, (max(hw[0] // 16, 2), max(hw[1] // 16, 2), 3), dtype=np.uint8)
        image = cv2.resize(coarse, (hw[1], hw[0]), interpolation=cv2.INTER_CUBIC)
        for _ in range(3):
            center = (int(rng.integers(0, hw[1])), int(rng.integers(0, hw[0])))
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            cv2.circle(image, center, int(rng.integers(10, max(hw) // 4)), color, -1)
        out.append(np.ascontiguousarray(image))
    return out


def as_tensor(frame: np.ndarray) -> torch.Tensor:
    """RGB (3, H, W) float in [0, 1], as the engine feeds it."""
    return torch.from_numpy(np.ascontiguousarray(frame[:, :, ::-1].transpose(2, 0, 1))).float() / 255.0
