"""Free disk space where the archive writes."""

from __future__ import annotations

import shutil
from pathlib import Path

from inspector.health.metrics import Metric
from inspector.health.state import ComponentHealth, HealthState
from inspector.logging import get_logger

log = get_logger("watchdog.disk")

MIB = 1024 * 1024


def existing_parent(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (the archive dir may not exist yet)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


class DiskWatchdog:
    """Degraded while the archive's filesystem has less than ``min_free_mib`` free."""

    name = "disk"

    def __init__(self, path: Path, min_free_mib: int) -> None:
        self.path = path
        self.min_free_mib = min_free_mib
        self.free_bytes: int | None = None
        self._health = ComponentHealth(self.name, HealthState.OK, "not checked yet")

    def check(self) -> ComponentHealth:
        try:
            usage = shutil.disk_usage(existing_parent(self.path))
        except OSError as exc:
            self._health = ComponentHealth(self.name, HealthState.DEGRADED, f"{self.path}: {exc.strerror}")
            return self._health
        self.free_bytes = usage.free
        free_mib = usage.free / MIB
        low = free_mib < self.min_free_mib
        if low and self._health.state is HealthState.OK:
            log.warning(
                "disk_space_low", path=str(self.path), free_mib=round(free_mib), min=self.min_free_mib
            )
        state = HealthState.DEGRADED if low else HealthState.OK
        self._health = ComponentHealth(self.name, state, f"{self.path}: {free_mib:.0f} MiB free")
        return self._health

    def health(self) -> ComponentHealth:
        return self._health

    def metrics(self) -> list[Metric]:
        if self.free_bytes is None:
            return []
        return [
            Metric.single(
                "inspector_disk_free_bytes", "gauge", "Free space on the archive filesystem.", self.free_bytes
            )
        ]
