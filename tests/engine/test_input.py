"""The network input built on the CPU with one table lookup per pixel is bit for bit the
flip / float / divide-by-255 the torch path (GPUs, channels-last) computes."""

from __future__ import annotations

import numpy as np
import torch

from inspector.engine.letterbox import rgb_planes


def torch_input(images: list[np.ndarray]) -> torch.Tensor:
    batch = torch.from_numpy(np.stack(images))
    return batch.permute(0, 3, 1, 2).flip(1).to(torch.float32).div_(255.0).contiguous()


def test_rgb_planes_equal_the_torch_input_for_every_byte_value() -> None:
    rng = np.random.default_rng(0)
    every = np.arange(256, dtype=np.uint8).repeat(3).reshape(16, 16, 3)  # each value in each channel
    images = [every, rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)]
    planes = rgb_planes(images)
    assert planes.shape == (2, 3, 16, 16) and planes.dtype == np.float32
    assert torch.equal(torch.from_numpy(planes), torch_input(images))


def test_rgb_planes_of_a_camera_sized_frame() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert torch.equal(torch.from_numpy(rgb_planes([frame])), torch_input([frame]))
