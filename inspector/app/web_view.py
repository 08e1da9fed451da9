"""The operator page's wiring: its output (built with the other outputs) and the line's figures
it shows, each read from where the line already keeps it (the stats collector, the /metrics
part counters, the PLC link's counters, the readers, the health monitor)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inspector.app.part_metrics import PLC_FAILSAFES, PartMetrics
from inspector.app.stats import E2E
from inspector.app.stats_reporter import LineFigures
from inspector.app.watch import LineWatch
from inspector.archive.writer import ArchiveWriter
from inspector.config.settings import InspectorConfig
from inspector.sources.config import SourceConfig
from inspector.web.output import LineStatus, WebOutput
from inspector.web.routes import Gate, WebRoutes


def build_web(config: InspectorConfig, archive: ArchiveWriter | None) -> WebOutput | None:
    """The page's output when the HTTP endpoints are on and the page is enabled."""
    if not (config.health.http and config.web.enabled):
        return None
    return WebOutput(config.web, config.archive.overlay_alpha, archive)


def web_routes(config: InspectorConfig, web: WebOutput | None) -> WebRoutes | Gate | None:
    """The page's routes; with the page off, the request limits and the token still guard /metrics."""
    if web is not None:
        return WebRoutes(web, config.health.http_token)
    return Gate(config.health.http_token) if config.health.http else None


def attach_web(
    web: WebOutput | None,
    routes: WebRoutes | Gate | None,
    figures: LineFigures,
    sources: Sequence[SourceConfig],
    watch: LineWatch,
) -> None:
    """The line's figures to the page, and the page's own figures to /metrics."""
    if web is None or not isinstance(routes, WebRoutes):
        return
    watch.metrics.add("web", routes.metrics)
    totals, cameras = (lambda: line_totals(figures)), camera_info(figures, sources)
    web.attach(LineStatus(totals=totals, cameras=cameras, health=watch.monitor.snapshot))


def line_totals(figures: LineFigures) -> dict[str, Any]:
    """Since start: parts, fps, verdicts, fail-safes by code (the PLC side's too), e2e percentiles."""
    total = figures.stats.total()
    failsafes = {code: n for code, n in figures.stats.parts.failsafes().items()}
    link = figures.outputs.link_stats()
    if link is not None:
        for counter, cause in PLC_FAILSAFES.items():
            count = int(getattr(link, counter))
            if count:
                key = str(int(cause))
                failsafes[key] = failsafes.get(key, 0) + count
    e2e = total["latency_ms"].get(E2E, {})
    return {
        "parts": total["frames"],
        "uptime_s": total["elapsed_s"],
        "fps": round(figures.stats.parts.fps(), 2),
        "verdicts": total["verdicts"],
        "failsafes": failsafes,
        "e2e_ms": {"p50": e2e.get("p50"), "p99": e2e.get("p99")},
        "e2e_buckets": e2e_buckets(figures.stats.parts),
    }


def e2e_buckets(parts: PartMetrics) -> dict[str, float]:
    """The /metrics e2e histogram's cumulative counts per bucket bound ("le"), cameras summed:
    the page takes the last hour's percentiles from two of these an hour apart."""
    counts: dict[str, float] = {}
    for family in parts.e2e.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = sample.labels["le"]
                counts[bound] = counts.get(bound, 0.0) + sample.value
    return counts


def _setting(value: float | None, auto: str, unit: str) -> str:
    if auto != "off":
        return f"auto ({auto})"
    return "n/a" if value is None else f"{value:g} {unit}"


def camera_info(
    figures: LineFigures, sources: Sequence[SourceConfig]
) -> Callable[[], Mapping[str, Mapping[str, Any]]]:
    """Per camera: its kind, state, frames, and exposure and gain where the source sets them."""
    configured = {s.id: s for s in sources}

    def info() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for reader in figures.readers:
            stats = reader.stats()
            cfg = configured.get(stats.source_id)
            exposure = getattr(cfg, "exposure_us", None), str(getattr(cfg, "exposure_auto", "off"))
            gain = getattr(cfg, "gain_db", None), str(getattr(cfg, "gain_auto", "off"))
            out[stats.source_id] = {
                "kind": getattr(cfg, "kind", "?"),
                "state": stats.state.value,
                "frames": stats.frames,
                "exposure": _setting(*exposure, "µs"),
                "gain": _setting(*gain, "dB"),
            }
        return out

    return info
