"""Prometheus text exposition (format 0.0.4) from small typed metric records.

Collectors are callables returning ``Metric`` records; each is asked at scrape
time, so the values are current and nothing is cached between scrapes.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from inspector.logging import get_logger

log = get_logger("health.metrics")

MetricType = Literal["gauge", "counter"]
_NAME_RE = re.compile(r"[^a-zA-Z0-9_:]")


def metric_name(raw: str) -> str:
    """A valid Prometheus metric name from any string (invalid characters become '_')."""
    name = _NAME_RE.sub("_", raw)
    return name if not name[:1].isdigit() else "_" + name


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric family: name, type, help, and samples (labels, value)."""

    name: str
    kind: MetricType
    help: str
    samples: tuple[tuple[tuple[tuple[str, str], ...], float], ...] = field(default=())

    @classmethod
    def single(cls, name: str, kind: MetricType, help: str, value: float, **labels: str) -> Metric:
        return cls(name, kind, help, ((tuple(sorted(labels.items())), float(value)),))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render(metrics: Iterable[Metric]) -> str:
    """The text exposition of the metrics; families with the same name are merged."""
    merged: dict[str, Metric] = {}
    for metric in metrics:
        name = metric_name(metric.name)
        if name in merged:
            old = merged[name]
            merged[name] = Metric(name, old.kind, old.help, old.samples + metric.samples)
        else:
            merged[name] = Metric(name, metric.kind, metric.help, metric.samples)
    lines: list[str] = []
    for name, metric in merged.items():
        lines.append(f"# HELP {name} {metric.help.replace(chr(10), ' ')}")
        lines.append(f"# TYPE {name} {metric.kind}")
        for labels, value in metric.samples:
            label_text = ",".join(f'{metric_name(k)}="{_escape_label(v)}"' for k, v in labels)
            suffix = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{name}{suffix} {_format_value(value)}")
    return "\n".join(lines) + "\n"


Collector = Callable[[], Iterable[Metric]]


class MetricsRegistry:
    """Named collectors; ``collect()`` asks each, skipping (and logging) one that raises."""

    def __init__(self) -> None:
        self._collectors: dict[str, Collector] = {}
        self._lock = threading.Lock()

    def add(self, name: str, collector: Collector) -> None:
        with self._lock:
            self._collectors[name] = collector

    def collect(self) -> list[Metric]:
        with self._lock:
            collectors = list(self._collectors.items())
        out: list[Metric] = []
        for name, collector in collectors:
            try:
                out.extend(collector())
            except Exception as exc:  # one broken collector must not hide all the others
                log.warning("metrics_collector_error", collector=name, error=repr(exc))
        return out

    def render(self) -> str:
        return render(self.collect())
