"""The engine runs any ``Network``: the torch backend is one implementation, not a part of Engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.backends.registry import BACKENDS
from inspector.engine.engine import Engine
from inspector.engine.loaders import ModelInfo
from inspector.engine.network import Network, RawHead
from inspector.engine.runner import TorchNetwork
from tests.support.reference import synthetic_image


@dataclass
class OneAtATime:
    """Another runtime's network: takes one frame per call (a fixed-batch export), counts calls."""

    inner: TorchNetwork
    calls: int = 0

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
        return 1

    def __call__(self, x: torch.Tensor) -> RawHead:
        assert x.shape[0] == 1
        self.calls += 1
        return self.inner(x)


def test_the_engine_runs_a_network_it_did_not_build(tiny_seg_checkpoint: Path) -> None:
    config = EngineConfig(model=tiny_seg_checkpoint, device="cpu", conf=0.4, warmup=0)
    torch_net = BACKENDS["torch"](tiny_seg_checkpoint, config, torch.device("cpu"))
    assert isinstance(torch_net, TorchNetwork)
    other = OneAtATime(torch_net)
    network: Network = other  # structurally a Network
    images = [synthetic_image(240, 320, seed=5), synthetic_image(240, 320, seed=6)]
    mine = Engine(network, config).infer(images)
    assert other.calls == 2  # the batch of two was split to the network's limit
    for a, b in zip(mine, load_engine(config).infer(images), strict=True):
        assert len(a) == len(b) > 0
        assert torch.equal(a.class_ids, b.class_ids) and torch.allclose(a.boxes, b.boxes, atol=1e-3)


def test_every_configurable_backend_is_registered_and_no_more() -> None:
    choices = get_args(EngineConfig.model_fields["backend"].annotation)
    assert set(choices) - {"auto"} == set(BACKENDS)
