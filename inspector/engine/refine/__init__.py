"""SAM-family mask refinement (``engine.refine``): an exported encoder/decoder pair prompted by
each detection's box, run by ONNX Runtime or OpenVINO with numpy and OpenCV (no torch)."""

from __future__ import annotations

from inspector.engine.refine.config import RefineConfig
from inspector.engine.refine.engine import Engine, RefineCounts, RefiningEngine
from inspector.engine.refine.pair import SamPair, is_sam_pair, read_pair
from inspector.engine.refine.sam import SamRefiner

__all__ = [
    "RefineConfig",
    "RefineCounts",
    "RefiningEngine",
    "SamPair",
    "SamRefiner",
    "is_sam_pair",
    "read_pair",
    "with_refinement",
]


def with_refinement(engine: Engine, config: RefineConfig | None) -> Engine:
    """``engine`` (loaded and warm) wrapped with refinement when ``engine.refine`` is configured,
    its SAM pair loaded and warmed up too; else ``engine`` as it is."""
    if config is None:
        return engine
    refining = RefiningEngine(engine, SamRefiner.open(config.model, config.backend, config.threads), config)
    refining.warm_refiner()
    return refining
