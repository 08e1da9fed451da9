"""Rules stage: mask geometry features and declarative inspection rules → verdicts.

``build_verdicts(config.rules)`` gives a ``VerdictMaker``; call ``check_names``
with the model's class names and ``check_sources`` with the source ids at build
time, then ``evaluate(detections, source_id)`` per part. ``to_log(verdict)`` renders
a verdict for the log. ``check_names(config, names)`` and ``check_sources(config,
source_ids)`` are the same checks on a bare ``RulesConfig`` (no torch, no model).

Names are imported lazily so that loading the config (``inspector.rules.config``)
does not import torch and OpenCV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.lazy import lazy_exports

if TYPE_CHECKING:
    from inspector.rules.checks import check_names, check_sources
    from inspector.rules.config import RulesConfig
    from inspector.rules.features import Feature
    from inspector.rules.log import to_log
    from inspector.rules.verdicts import VerdictMaker, build_verdicts

_EXPORTS = {
    "RulesConfig": "inspector.rules.config",
    "check_names": "inspector.rules.checks",
    "check_sources": "inspector.rules.checks",
    "Feature": "inspector.rules.features",
    "to_log": "inspector.rules.log",
    "VerdictMaker": "inspector.rules.verdicts",
    "build_verdicts": "inspector.rules.verdicts",
}

__all__ = [
    "Feature",
    "RulesConfig",
    "VerdictMaker",
    "build_verdicts",
    "check_names",
    "check_sources",
    "to_log",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
