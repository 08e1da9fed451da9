"""The one place an engine gets its SAM-family refinement (``engine.refine``)."""

from __future__ import annotations

from inspector.engine.refine.config import RefineConfig
from inspector.engine.refine.engine import Engine, RefiningEngine
from inspector.engine.refine.sam import SamRefiner


def with_refinement(engine: Engine, config: RefineConfig | None) -> Engine:
    """``engine`` (loaded and warm) wrapped with refinement when ``engine.refine`` is configured,
    its SAM pair loaded and warmed up too; else ``engine`` as it is."""
    if config is None:
        return engine
    refining = RefiningEngine(engine, SamRefiner.open(config.model, config.backend, config.threads), config)
    refining.warm_refiner()
    return refining
