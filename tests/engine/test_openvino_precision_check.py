"""The start-up precision check, on torch networks: a network against itself passes with IoU
1.0; one whose masks moved, or that finds instances the reference does not, is refused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from inspector.engine import EngineConfig
from inspector.engine.backends.precision_check import check_precision, warmup_frame
from inspector.engine.backends.registry import BACKENDS
from inspector.engine.engine import Engine
from inspector.engine.loaders import ModelInfo
from inspector.engine.network import Network, RawHead
from inspector.errors import ModelError

FRAME_HW = (240, 320)
CONF = 0.3


@dataclass
class Altered:
    """A network whose prototypes are shifted (masks move) or whose scores are raised (more
    instances) — what a precision that breaks the model would do."""

    inner: Network
    shift: int = 0
    extra_score: float = 0.0

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    @property
    def device(self) -> torch.device:
        return self.inner.device

    @property
    def dtype(self) -> torch.dtype:
        return self.inner.dtype

    @property
    def layout(self) -> torch.memory_format:
        return self.inner.layout

    @property
    def precision(self) -> str:
        return self.inner.precision

    @property
    def max_batch(self) -> int:
        return self.inner.max_batch

    def __call__(self, x: torch.Tensor) -> RawHead:
        preds, protos = self.inner(x)
        if self.shift:
            protos = protos.roll((self.shift, self.shift), dims=(2, 3))
        if self.extra_score:
            nc = len(self.info.names)
            preds = preds.clone()
            preds[:, 4 : 4 + nc] = (preds[:, 4 : 4 + nc] + self.extra_score).clamp(max=1.0)
        return preds, protos


@pytest.fixture(scope="module")
def torch_network(tiny_seg_checkpoint: Path) -> Network:
    config = EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=CONF, warmup=0)
    return BACKENDS["torch"](tiny_seg_checkpoint, config, torch.device("cpu"))


def config() -> EngineConfig:
    return EngineConfig(device="cpu", conf=CONF, warmup=0)


def test_the_warmup_frame_has_instances_to_compare(torch_network: Network) -> None:
    frame = warmup_frame(FRAME_HW)
    assert frame.shape == (*FRAME_HW, 3) and frame.dtype.name == "uint8"
    assert (frame == warmup_frame(FRAME_HW)).all()  # deterministic
    (dets,) = Engine(torch_network, config()).infer([frame])
    assert len(dets) >= 2  # otherwise every check below would pass vacuously


def test_a_network_against_itself_gives_iou_one(torch_network: Network) -> None:
    assert check_precision(torch_network, torch_network, FRAME_HW, 0.9, "torch f32", config()) == 1.0


def test_moved_masks_are_refused_naming_precision_iou_and_key(torch_network: Network) -> None:
    moved = Altered(torch_network, shift=3)
    with pytest.raises(ModelError) as err:
        check_precision(moved, torch_network, FRAME_HW, 0.9, "openvino bf16", config())
    message = str(err.value)
    assert "openvino bf16" in message and "engine.openvino.check_iou" in message
    assert "worst mask IoU 0." in message


def test_the_threshold_decides_and_zero_always_passes(torch_network: Network) -> None:
    moved = Altered(torch_network, shift=1)
    worst = check_precision(moved, torch_network, FRAME_HW, 0.0, "openvino f16", config())
    assert 0.0 < worst < 1.0
    assert check_precision(moved, torch_network, FRAME_HW, worst, "openvino f16", config()) == worst
    with pytest.raises(ModelError, match=r"engine\.openvino\.check_iou"):
        check_precision(moved, torch_network, FRAME_HW, min(1.0, worst + 0.01), "openvino f16", config())


def test_instances_found_at_one_precision_only_are_refused(torch_network: Network) -> None:
    more = Altered(torch_network, extra_score=0.3)
    with pytest.raises(ModelError, match=r"instance\(s\) found at one precision only"):
        check_precision(more, torch_network, FRAME_HW, 0.0, "tensorrt fp16", config())
