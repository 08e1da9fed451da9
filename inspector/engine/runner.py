"""How the network is executed on its device: precision, memory layout, compile, CUDA graphs."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
MAX_GRAPHS = 8  # one graph per input shape; a line has few frame sizes


class CudaGraphRunner:
    """Replays a captured CUDA graph per input shape; the first call for a shape captures it."""

    def __init__(self, forward: Forward) -> None:
        self.forward = forward
        self.graphs: dict[
            tuple[int, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor, tuple[torch.Tensor, ...]]
        ] = {}

    def capture(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, tuple[torch.Tensor, ...]]:
        static_in = x.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up runs on a side stream, as capture requires
            for _ in range(3):
                self.forward(static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.forward(static_in)
        return graph, static_in, tuple(static_out)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = tuple(x.shape)
        if key not in self.graphs:
            if len(self.graphs) >= MAX_GRAPHS:
                self.graphs.clear()
            self.graphs[key] = self.capture(x)
        graph, static_in, static_out = self.graphs[key]
        static_in.copy_(x)
        graph.replay()
        # Outputs live in graph memory that the next replay overwrites; callers copy what they keep.
        return static_out[0], static_out[1]


def prepare_module(
    module: nn.Module, device: torch.device, half: bool, channels_last: bool
) -> tuple[nn.Module, torch.dtype, torch.memory_format]:
    """The module on its device in its inference dtype and layout."""
    cuda = device.type == "cuda"
    dtype = torch.float16 if cuda and half else torch.float32
    layout = torch.channels_last if cuda and channels_last else torch.contiguous_format
    module = module.to(device=device, dtype=dtype)
    if layout is torch.channels_last:
        module = module.to(memory_format=torch.channels_last)
    return module.eval(), dtype, layout


def make_forward(module: nn.Module, device: torch.device, compile_: bool, cuda_graphs: bool) -> Forward:
    """The callable the engine runs per batch: the module, optionally compiled and/or graph-captured."""
    forward: Forward = module
    if compile_:
        forward = torch.compile(module, dynamic=False)  # type: ignore[assignment]
    if cuda_graphs and device.type == "cuda":
        forward = CudaGraphRunner(forward)
    return forward


def resolve_device(name: str) -> torch.device:
    """``auto`` → first CUDA GPU if any, else CPU; an unavailable CUDA device is an error."""
    from inspector.errors import ModelError

    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(f"device {name} requested but CUDA is not available on this machine")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise ModelError(
                f"device {name} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    return device
