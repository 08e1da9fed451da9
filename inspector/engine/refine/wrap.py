"""The one place an engine gets its SAM-family refinement (``engine.refine``)."""

from __future__ import annotations

from inspector.engine.refine.config import RefineConfig
from inspector.engine.refine.engine import Engine, RefiningEngine
from inspector.engine.refine.sam import SamRefiner
from inspector.logging import get_logger

log = get_logger("inspector.engine")


def with_refinement(engine: Engine, config: RefineConfig | None) -> Engine:
    """``engine`` (loaded and warm) wrapped with refinement when ``engine.refine`` is configured,
    its SAM pair loaded, checked at a reduced precision, and warmed up too; else ``engine`` as it is."""
    if config is None:
        return engine
    refiner = SamRefiner.open(config.model, config.backend, config.threads, config.precision)
    worst_iou = checked_precision(refiner, config)
    refining = RefiningEngine(engine, refiner, config)
    refining.warm_refiner()
    log.info(
        "refine_loaded",
        model=str(config.model),
        arch=refiner.pair.arch,
        backend=config.backend,
        precision=config.precision,
        check_worst_iou=worst_iou,
    )
    return refining


def checked_precision(refiner: SamRefiner, config: RefineConfig) -> float | None:
    """The worst check-box IoU of a precision other than f32 against f32 (None when not checked);
    a ``ModelError`` below ``engine.refine.check_iou``. The f32 twin is dropped afterwards."""
    if config.precision == "f32" or config.check_iou == 0:
        return None
    from inspector.engine.refine.precision import check_refine_precision

    reference = SamRefiner.open(config.model, config.backend, config.threads, "f32")
    result = check_refine_precision(refiner, reference, config.precision, config.check_iou)
    return round(result.worst_iou, 4)
