"""The line's watch: health (aggregate state, sd_notify, HTTP) and the watchdogs, one lifecycle.

The composition root hands over what the line exposes (stage views, the engine's device, an
inference counter, component probes for camera/engine/PLC) and gets back one object the App
``start()``s, marks ``ready()`` after warm-up, and ``stop()``s. A watchdog's restart request
reaches the line's stop switches through ``restart.on_request``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch

from inspector.health.config import HealthConfig
from inspector.health.http import HealthHttpServer, Routes
from inspector.health.metrics import Collector, Metric, MetricsRegistry
from inspector.health.sdnotify import SdNotifier
from inspector.health.service import HealthService, Listener
from inspector.health.state import ComponentHealth, HealthMonitor, Probe
from inspector.logging import get_logger
from inspector.watchdog.config import WatchdogConfig
from inspector.watchdog.disk import DiskWatchdog
from inspector.watchdog.engine_calls import EngineCallGuard
from inspector.watchdog.gpu import GpuMemoryWatchdog, cuda_memory_for
from inspector.watchdog.liveness import LivenessWatchdog, StageView
from inspector.watchdog.restart import RestartRequest
from inspector.watchdog.rss import RssWatchdog
from inspector.watchdog.scheduler import JobScheduler

log = get_logger("health.watch")


class Watchdog(Protocol):
    """A periodic self-check: ``check()`` on schedule, ``health()`` and ``metrics()`` on demand."""

    @property
    def name(self) -> str: ...
    def check(self) -> object: ...
    def health(self) -> ComponentHealth: ...
    def metrics(self) -> list[Metric]: ...


@dataclass
class LineView:
    """What the line exposes to the watchdogs."""

    stages: Sequence[StageView] = ()
    engine_device: torch.device | str | None = None
    inferences: Callable[[], int] = lambda: 0
    max_batch: int = 1
    reduce_imgsz: Callable[[], bool] | None = None
    archive_dir: Path | None = None
    components: dict[str, Probe] = field(default_factory=dict)


class LineWatch:
    """Scheduler + watchdogs + health + sd_notify + optional HTTP, with one lifecycle.

    ``restart`` and ``engine_calls`` come from the composition root when the line's inference
    stage already goes through that guard; without them the watch makes its own.
    """

    def __init__(
        self,
        watchdog: WatchdogConfig,
        health: HealthConfig,
        line: LineView,
        notifier: SdNotifier | None = None,
        restart: RestartRequest | None = None,
        engine_calls: EngineCallGuard | None = None,
        status_prefix: Callable[[], str] | None = None,
        routes: Routes | None = None,
    ) -> None:
        self.config = watchdog
        self.restart = restart or RestartRequest()
        self.monitor = HealthMonitor()
        self.metrics = MetricsRegistry()
        self.scheduler = JobScheduler()
        self.health = HealthService(health, self.monitor, notifier, status_prefix)
        # the OOM guard also counts engine calls failing in a row, for the engine component
        self.engine_calls = engine_calls or EngineCallGuard(
            watchdog.oom, self.restart, line.max_batch, line.reduce_imgsz
        )
        self.rss = RssWatchdog(watchdog, self.restart)
        self.gpu = GpuMemoryWatchdog(watchdog, cuda_memory_for(line.engine_device), line.inferences)
        self.liveness = LivenessWatchdog(watchdog, line.stages)
        self.disk = DiskWatchdog(line.archive_dir, watchdog.disk_min_free_mib) if line.archive_dir else None
        self.http = (
            HealthHttpServer(
                health.http_host,
                health.http_port,
                self.monitor.snapshot,
                self.metrics.render,
                health.degraded_is_healthy,
                routes,
            )
            if health.http
            else None
        )
        for name, probe in line.components.items():
            self.monitor.add_probe(name, probe)
        self._register()

    def _register(self) -> None:
        cfg = self.config
        checks: list[tuple[Watchdog, float]] = [
            (self.rss, cfg.rss_interval_s),
            (self.liveness, cfg.liveness_interval_s),
        ]
        if self.gpu.active:
            checks.append((self.gpu, cfg.gpu_interval_s))
        else:
            log.info("gpu_watchdog_skipped", reason="no CUDA device for the engine")
        if self.disk is not None:
            checks.append((self.disk, cfg.disk_interval_s))
        for watchdog, interval in checks:
            if cfg.enabled:
                # first check after one interval: at start there is no trend and no progress to judge
                self.scheduler.add(f"watchdog.{watchdog.name}", watchdog.check, interval, run_now=False)
            self.add_component(watchdog.name, watchdog.health, watchdog.metrics)
        self.add_component(self.engine_calls.name, self.engine_calls.health, self.engine_calls.metrics)
        self.metrics.add("health", self.health.metrics)
        self.scheduler.add("health", self.health.tick, self.health.tick_interval_s())

    def add_component(self, name: str, probe: Probe, collector: Collector | None = None) -> None:
        """A camera, engine or PLC probe (and optionally its metrics)."""
        self.monitor.add_probe(name, probe)
        if collector is not None:
            self.metrics.add(name, collector)

    def add_listener(self, listener: Listener) -> None:
        """Called after each health evaluation (e.g. to drive the PLC heartbeat)."""
        self.health.add_listener(listener)

    def start(self) -> None:
        if self.http is not None:
            self.http.start()
        self.scheduler.start()

    def ready(self) -> None:
        self.health.ready()

    def stopping(self, reason: str) -> None:
        """STOPPING=1 to systemd: the drain begins."""
        self.health.stopping(reason)

    def stop(self, reason: str = "shutdown") -> None:
        self.health.stopping(reason)
        self.scheduler.stop()
        if self.http is not None:
            self.http.stop()
