"""/metrics through prometheus-client, from small typed metric records and the client's own families.

Collectors are callables returning ``Metric`` records; each is asked at scrape time, so the
values are current and nothing is cached between scrapes. Every ``MetricsRegistry`` owns its
own ``CollectorRegistry`` (never the process-global one): several lines may run in one process,
and each line's /metrics shows only its own figures. Histograms and other client metrics are
registered on ``MetricsRegistry.registry`` directly.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Metric as Family
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector as ClientCollector

from inspector.logging import get_logger

log = get_logger("health.metrics")

MetricType = Literal["gauge", "counter"]
_NAME_RE = re.compile(r"[^a-zA-Z0-9_:]")
# what generate_latest writes; newer clients' CONTENT_TYPE_LATEST says version=1.0.0, which older
# Prometheus servers (Debian 12 ships 2.42) do not negotiate
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metric_name(raw: str) -> str:
    """A valid Prometheus metric name from any string (invalid characters become '_')."""
    name = _NAME_RE.sub("_", raw)
    return name if not name[:1].isdigit() else "_" + name


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric family: name, type, help, and samples (labels, value). Counters end in _total."""

    name: str
    kind: MetricType
    help: str
    samples: tuple[tuple[tuple[tuple[str, str], ...], float], ...] = field(default=())

    @classmethod
    def single(cls, name: str, kind: MetricType, help: str, value: float, **labels: str) -> Metric:
        return cls(name, kind, help, ((tuple(sorted(labels.items())), float(value)),))


def families(metrics: Iterable[Metric]) -> list[Family]:
    """prometheus-client families from records; records with the same name are merged."""
    merged: dict[str, Family] = {}
    for metric in metrics:
        name = metric_name(metric.name)
        # the client names a counter family without _total and writes its samples with it
        base = name.removesuffix("_total") if metric.kind == "counter" else name
        sample = f"{base}_total" if metric.kind == "counter" else name
        family = merged.get(base)
        if family is None:
            family = merged[base] = Family(base, metric.help.replace("\n", " "), metric.kind)
        for labels, value in metric.samples:
            family.add_sample(sample, {metric_name(k): v for k, v in labels}, float(value))
    return list(merged.values())


class _Records(ClientCollector):
    """The registered record collectors, as one client collector."""

    def __init__(self, collect: Callable[[], list[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Family]:
        yield from families(self._collect())


def render(metrics: Iterable[Metric]) -> str:
    """The text exposition of the records alone (no process or build families)."""
    registry = CollectorRegistry(auto_describe=False)
    records = list(metrics)
    registry.register(_Records(lambda: records))
    return generate_latest(registry).decode()


def _installed(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def build_info() -> Metric:
    help = "Constant 1; the labels say which inspector, Python and torch run."
    labels = {
        "version": _installed("inspector"),
        "python": platform.python_version(),
        "torch": _installed("torch"),
    }
    return Metric.single("inspector_build_info", "gauge", help, 1.0, **labels)


Collector = Callable[[], Iterable[Metric]]


class MetricsRegistry:
    """Named collectors; ``collect()`` asks each, skipping (and logging) one that raises.

    ``registry`` also carries the build info and the process collectors (CPU, RSS, open files,
    start time) unless ``process=False``.
    """

    def __init__(self, process: bool = True) -> None:
        self._collectors: dict[str, Collector] = {}
        self._lock = threading.Lock()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Records(self.collect))
        if process:
            self.add("build", lambda: [build_info()])
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)

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
        return generate_latest(self.registry).decode()
