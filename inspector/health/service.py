"""The health loop: evaluate, tell systemd (WATCHDOG/STATUS), log transitions, call listeners.

``WATCHDOG=1`` is sent only while the aggregate state is healthy, so a stalled
stage or a failing engine lets systemd's ``WatchdogSec=`` expire and restart the
service. ``READY=1`` is sent once, by ``ready()``, after the model has warmed up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from inspector.health.config import HealthConfig
from inspector.health.metrics import Metric
from inspector.health.sdnotify import SdNotifier, status_text, watchdog_interval_s
from inspector.health.state import HealthMonitor, HealthSnapshot, HealthState
from inspector.logging import get_logger

log = get_logger("health")

Listener = Callable[[HealthSnapshot], None]


class HealthService:
    """Owns the notifier; ``tick()`` is the scheduled job."""

    def __init__(
        self,
        config: HealthConfig,
        monitor: HealthMonitor,
        notifier: SdNotifier | None = None,
        status_prefix: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self.monitor = monitor
        self.notifier = notifier or SdNotifier(enabled=config.notify)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._last: HealthSnapshot | None = None
        self._last_pulse = 0.0
        self.is_ready = False
        # Counts shown before the health summary in STATUS= (e.g. "1234 verdicts").
        self.status_prefix = status_prefix
        self.pulses = 0
        self.transitions = 0

    def pulse_interval_s(self) -> float | None:
        """Seconds between WATCHDOG=1 pulses, or None when systemd's watchdog is off."""
        if self.config.watchdog_pulse_s is not None:
            return self.config.watchdog_pulse_s
        period = watchdog_interval_s()
        return None if period is None else period / 3

    def tick_interval_s(self) -> float:
        pulse = self.pulse_interval_s()
        return min(self.config.interval_s, pulse) if pulse else self.config.interval_s

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def healthy(self, snap: HealthSnapshot) -> bool:
        return snap.healthy(self.config.degraded_is_healthy)

    def tick(self) -> HealthSnapshot:
        snap = self.monitor.snapshot()
        with self._lock:
            previous, self._last = self._last, snap
        if previous is None or previous.state is not snap.state:
            self._log_transition(previous, snap)
        healthy = self.healthy(snap)
        now = time.monotonic()
        interval = self.pulse_interval_s()
        if healthy and interval is not None and now - self._last_pulse >= interval * 0.9:
            if self.notifier.pulse():
                self.pulses += 1
            self._last_pulse = now
        self.notifier.status(self._status_line(snap))
        for listener in self._listeners:
            listener(snap)
        return snap

    def _status_line(self, snap: HealthSnapshot) -> str:
        prefix = "" if self.is_ready else "starting; "
        if self.is_ready and self.status_prefix is not None:
            prefix = self.status_prefix() + "; "
        # Component details carry probe and archive error text as it came: make it one line.
        return status_text(prefix + snap.summary())

    def _log_transition(self, previous: HealthSnapshot | None, snap: HealthSnapshot) -> None:
        self.transitions += 1
        event = {
            HealthState.OK: log.info,
            HealthState.DEGRADED: log.warning,
            HealthState.FAILING: log.error,
        }[snap.state]
        event(
            "health_changed",
            state=snap.state.label,
            previous=previous.state.label if previous else None,
            summary=snap.summary(),
        )

    def ready(self) -> None:
        """Tell systemd the service is up (call after model warm-up)."""
        self.is_ready = True
        snap = self.monitor.snapshot()
        self.notifier.ready(status_text(snap.summary()))
        log.info("ready", state=snap.state.label)

    def stopping(self, reason: str) -> None:
        self.notifier.stopping(status_text(f"stopping: {reason}"))

    @property
    def last(self) -> HealthSnapshot | None:
        return self._last

    def metrics(self) -> list[Metric]:
        snap = self._last or self.monitor.snapshot()
        states = tuple(((("component", c.name),), float(c.state)) for c in snap.components)
        return [
            Metric.single(
                "inspector_health_state",
                "gauge",
                "Aggregate health: 0 ok, 1 degraded, 2 failing.",
                float(snap.state),
            ),
            Metric(
                "inspector_component_health_state",
                "gauge",
                "Component health: 0 ok, 1 degraded, 2 failing.",
                states,
            ),
            Metric.single("inspector_ready", "gauge", "1 after model warm-up.", float(self.is_ready)),
            Metric.single(
                "inspector_watchdog_pulses_total", "counter", "WATCHDOG=1 sent to systemd.", self.pulses
            ),
        ]
