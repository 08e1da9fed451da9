"""SAM-family mask refinement (``engine.refine``): an exported encoder/decoder pair prompted by
each detection's box, run by ONNX Runtime or OpenVINO with numpy and OpenCV (no torch).

Exports are lazy: ``inspector.engine.config`` imports ``refine.config``, which runs this file, and
``inspector check`` must not pull numpy-heavy runtimes, torch or OpenCV."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.engine.refine.config import RefineConfig
    from inspector.engine.refine.engine import RefineCounts, RefiningEngine
    from inspector.engine.refine.pair import SamPair, is_sam_pair, read_pair
    from inspector.engine.refine.sam import SamRefiner
    from inspector.engine.refine.wrap import with_refinement

_EXPORTS = {
    "RefineConfig": "inspector.engine.refine.config",
    "RefineCounts": "inspector.engine.refine.engine",
    "RefiningEngine": "inspector.engine.refine.engine",
    "SamPair": "inspector.engine.refine.pair",
    "is_sam_pair": "inspector.engine.refine.pair",
    "read_pair": "inspector.engine.refine.pair",
    "SamRefiner": "inspector.engine.refine.sam",
    "with_refinement": "inspector.engine.refine.wrap",
}

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
