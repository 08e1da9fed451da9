"""The torch runtime: how a network runs on its device (precision, memory layout, freeze, compile,
CUDA graphs). Eager networks (YOLOv8/11/26-seg) and TorchScript exports are its two kinds of network."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inspector.engine.config import EngineConfig
from inspector.engine.families.network import LayerGraphNetwork
from inspector.engine.loaders import LoadedModel, ModelInfo, load_model
from inspector.engine.model import RawNetwork, SegmentationModel
from inspector.engine.network import RawHead, input_hw
from inspector.engine.torchscript import ScriptedSegmenter
from inspector.logging import get_logger

log = get_logger("inspector.engine")

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
    module: nn.Module, device: torch.device, dtype: torch.dtype, layout: torch.memory_format
) -> nn.Module:
    """The module on its device in its inference dtype and layout (channels-last helps oneDNN on CPU too)."""
    module = module.to(device=device, dtype=dtype)
    if layout is torch.channels_last:
        module = module.to(memory_format=torch.channels_last)
    return module.eval()


@dataclass(frozen=True, eq=False)
class TorchNetwork:
    """A ``Network`` run by torch: ``forward`` is the module itself, or it frozen, compiled or
    replayed from CUDA graphs."""

    info: ModelInfo
    device: torch.device
    dtype: torch.dtype
    layout: torch.memory_format
    max_batch: int
    module: nn.Module
    forward: Forward

    @property
    def precision(self) -> str:
        return "fp16" if self.dtype == torch.float16 else "fp32"

    def __call__(self, x: torch.Tensor) -> RawHead:
        return self.forward(x)


def open_torch(path: Path, config: EngineConfig, device: torch.device) -> TorchNetwork:
    """The torch runtime: any supported model file, ready on ``device``."""
    loaded = load_model(path, device, None if config.end2end == "auto" else bool(config.end2end))
    if isinstance(loaded.module, ScriptedSegmenter):
        return scripted_network(loaded, loaded.module, config, device)
    return eager_network(loaded, config, device)


def eager_network(loaded: LoadedModel, config: EngineConfig, device: torch.device) -> TorchNetwork:
    dtype = torch.float16 if device.type == "cuda" and config.half else torch.float32
    return torch_network(loaded, config, device, dtype, max_batch=0)


def scripted_network(
    loaded: LoadedModel, script: ScriptedSegmenter, config: EngineConfig, device: torch.device
) -> TorchNetwork:
    """A TorchScript export keeps the precision and batch size it was traced with."""
    return torch_network(loaded, config, device, script.dtype, max_batch=script.batch)


def torch_network(
    loaded: LoadedModel, config: EngineConfig, device: torch.device, dtype: torch.dtype, max_batch: int
) -> TorchNetwork:
    layout = torch.channels_last if config.channels_last else torch.contiguous_format
    module = prepare_module(loaded.module, device, dtype, layout)
    example = torch.zeros((1, 3, *input_hw(loaded.info, config)), dtype=dtype, device=device)
    forward = make_forward(module, device, config, example.contiguous(memory_format=layout))
    return TorchNetwork(loaded.info, device, dtype, layout, max_batch, module, forward)


def frozen_cpu_forward(model: SegmentationModel | LayerGraphNetwork, example: torch.Tensor) -> Forward | None:
    """The weighted part traced and frozen with TorchScript (oneDNN convolutions with prepacked
    weights: measurably faster on CPU); the shape-dependent box decoding stays in Python.
    None when tracing fails, and the caller keeps the eager module."""
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            frozen = torch.jit.freeze(torch.jit.trace(RawNetwork(model).eval(), example, check_trace=False))
    except (RuntimeError, TypeError, ValueError) as exc:
        log.warning("engine.freeze_failed", error=str(exc)[:200])
        return None

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return model.decode(frozen(x), (int(x.shape[2]), int(x.shape[3])))

    return forward


def make_forward(
    module: nn.Module,
    device: torch.device,
    options: EngineConfig,
    example: torch.Tensor,
) -> Forward:
    """The callable the engine runs per batch: the module, optionally frozen, compiled, graph-captured."""
    forward: Forward = module
    compile_, cuda_graphs = options.compile, options.cuda_graphs
    cpu_freeze = device.type == "cpu" and options.cpu_freeze
    if cpu_freeze and isinstance(module, (SegmentationModel, LayerGraphNetwork)):
        forward = frozen_cpu_forward(module, example) or module
    cuda = device.type == "cuda"
    if compile_ and cuda_graphs and cuda:
        # torch.compile captures CUDA graphs itself in this mode; never both mechanisms at once.
        return torch.compile(module, mode="reduce-overhead", dynamic=False)  # type: ignore[return-value]
    if compile_:
        forward = torch.compile(module, dynamic=False)  # type: ignore[assignment]
    elif cuda_graphs and cuda:
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
