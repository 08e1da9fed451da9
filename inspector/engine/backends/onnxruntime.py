"""ONNX Runtime: ONNX exports by ultralytics or inspector, on the CPU (or CUDA with onnxruntime-gpu).

The session is configured explicitly — execution provider, intra-op threads (``engine.onnxruntime
.threads``, else ``engine.cpu_threads``, else torch's count), sequential execution, full graph
optimisation — and logged, so nothing runs on a runtime default the log does not show. The graph
runs in the precision it was exported in (float32 from ``inspector model export``); the engine
letterboxes every frame to the export's fixed input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.engine.backends.extras import require
from inspector.engine.backends.onnx_file import OnnxGraph, describe_onnx
from inspector.engine.checkpoint import reason_of
from inspector.engine.config import EngineConfig
from inspector.engine.exported import rows_as_pairs
from inspector.engine.loaders import ModelInfo
from inspector.engine.network import RawHead
from inspector.errors import ModelError
from inspector.logging import get_logger

log = get_logger("inspector.engine")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


@dataclass(frozen=True, eq=False)
class OnnxRuntimeNetwork:
    """A ``Network`` run by an ONNX Runtime session; inputs and outputs are CPU tensors (the
    CUDA provider copies to and from the GPU itself)."""

    info: ModelInfo
    device: torch.device
    dtype: torch.dtype
    layout: torch.memory_format
    max_batch: int
    session: Any  # onnxruntime.InferenceSession
    graph: OnnxGraph
    precision: str = "fp32"  # the exported graph is float32; ONNX Runtime runs it as it is

    def __call__(self, x: torch.Tensor) -> RawHead:
        batch = self.graph.batch
        if not batch or x.shape[0] == batch:
            return self.run(x)
        # A fixed-batch graph takes exactly its batch: run in chunks, the last padded with blank frames.
        outs = [self.run(chunk) for chunk in x.split(batch)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    def run(self, x: torch.Tensor) -> RawHead:
        n, batch = int(x.shape[0]), self.graph.batch
        if batch > n:
            x = torch.cat((x, x.new_zeros((batch - n, *x.shape[1:]))))
        feed = {self.graph.input.name: np.ascontiguousarray(x.detach().cpu().numpy())}
        names = [self.graph.outputs[0].name, self.graph.outputs[1].name]
        preds_np, protos_np = self.session.run(names, feed)
        preds, protos = torch.from_numpy(preds_np)[:n], torch.from_numpy(protos_np)[:n]
        width = 6 + protos.shape[1] if self.graph.rows else 4 + self.info.nc + protos.shape[1]
        if preds.shape[2 if self.graph.rows else 1] != width:  # a dynamic export's shapes show only now
            raise ModelError(
                f"model file {self.info.path}: its predictions came out {tuple(preds.shape)}, which does not "
                f"fit its {self.info.nc} classes and {protos.shape[1]} masks; expected an ONNX "
                "segmentation export by ultralytics or inspector"
            )
        if self.graph.rows:
            preds = rows_as_pairs(preds, self.info.nc)
        return preds, protos


def providers_for(ort: Any, device: torch.device, path: Path) -> list[Any]:
    if device.type != "cuda":
        return [CPU]
    if CUDA not in ort.get_available_providers():
        raise ModelError(
            f"engine.backend onnxruntime on {device}: this onnxruntime has no CUDA provider "
            f"(it has {', '.join(ort.get_available_providers())}); install onnxruntime-gpu, or run "
            f"{path} on engine.device: cpu or with engine.backend: tensorrt"
        )
    return [(CUDA, {"device_id": device.index or 0}), CPU]


def threads_for(config: EngineConfig) -> int:
    return config.onnxruntime.threads or config.cpu_threads or max(torch.get_num_threads(), 1)


def session_for(path: Path, config: EngineConfig, device: torch.device) -> tuple[Any, int]:
    """An InferenceSession with every setting that matters set here, and its thread count."""
    ort = require("onnxruntime", "onnxruntime")
    options = ort.SessionOptions()
    threads = threads_for(config)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads sleep between frames instead of spinning: the line PC's cores are shared with
    # capture, the PLC link and the archive (as torch runs with OMP_WAIT_POLICY=PASSIVE).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initializers are not the user's to act on
    providers = providers_for(ort, device, path)
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # untrusted bytes: whatever breaks, the user gets one clear line
        raise ModelError(
            f"model file {path}: ONNX Runtime cannot load it ({reason_of(exc)}); expected an ONNX "
            "segmentation export by ultralytics (format=onnx) or inspector model export --format onnx"
        ) from None
    if device.type == "cuda" and session.get_providers()[0] != CUDA:
        raise ModelError(f"engine.backend onnxruntime on {device}: the CUDA provider failed to start")
    return session, threads


def open_onnxruntime(path: Path, config: EngineConfig, device: torch.device) -> OnnxRuntimeNetwork:
    """An ONNX export run by ONNX Runtime on ``device`` (CPU, or CUDA with onnxruntime-gpu)."""
    graph = describe_onnx(path, None if config.end2end == "auto" else bool(config.end2end))
    session, threads = session_for(path, config, device)
    precision = "fp16" if graph.dtype == torch.float16 else "fp32"
    log.info(
        "onnxruntime_session",
        model=str(path),
        provider=session.get_providers()[0],
        threads=threads,
        precision=precision,
        input=list(graph.input.dims),
        end2end_rows=graph.rows,
    )
    return OnnxRuntimeNetwork(
        info=graph.info,
        device=torch.device("cpu"),
        dtype=graph.dtype,
        layout=torch.contiguous_format,
        max_batch=graph.batch,
        session=session,
        graph=graph,
    )
