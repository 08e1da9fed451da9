"""What the line shows of SAM refinement (``engine.refine``): its counters in the stats event
and on /metrics, so parts left unrefined over ``max_parts`` are visible, never silent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from inspector.app.interfaces import InferenceEngine
from inspector.engine.refine import RefiningEngine
from inspector.health.metrics import Metric

RefineFields = Callable[[], dict[str, int]]


def refine_fields(engine: InferenceEngine) -> RefineFields | None:
    """The refinement counters of a refining engine (frames, refined, over_cap, empty), else None."""
    if not isinstance(engine, RefiningEngine):
        return None
    return lambda: dataclasses.asdict(engine.counts())


def refine_metrics(fields: RefineFields) -> Callable[[], list[Metric]]:
    def collect() -> list[Metric]:
        counts = fields()
        parts = tuple(
            ((("outcome", outcome),), float(counts[key]))
            for outcome, key in (("refined", "refined"), ("over_cap", "over_cap"), ("empty_mask", "empty"))
        )
        return [
            Metric.single(
                "inspector_refine_frames_total",
                "counter",
                "Frames whose image SAM encoded.",
                counts["frames"],
            ),
            Metric(
                "inspector_refine_parts_total",
                "counter",
                "Detections of refined classes: refined by SAM, left unrefined over max_parts, or "
                "kept with the detector's mask because SAM's came out empty.",
                parts,
            ),
        ]

    return collect
