"""One aggregate health state from many components.

Components are probes: callables answering a ``ComponentHealth`` now (the
engine, the PLC link, each watchdog). The worst component decides the state; a
probe that raises counts as failing, so a broken probe never looks healthy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from inspector.logging import get_logger

log = get_logger("health")


class HealthState(IntEnum):
    """Ordered so that max() is the worst."""

    OK = 0
    DEGRADED = 1
    FAILING = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component's state and a short human-readable detail."""

    name: str
    state: HealthState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The aggregate state at one moment and the components behind it."""

    state: HealthState
    components: tuple[ComponentHealth, ...]

    def healthy(self, degraded_is_healthy: bool = True) -> bool:
        limit = HealthState.DEGRADED if degraded_is_healthy else HealthState.OK
        return self.state <= limit

    def problems(self) -> tuple[ComponentHealth, ...]:
        return tuple(c for c in self.components if c.state is not HealthState.OK)

    def summary(self) -> str:
        """One line for systemd's STATUS= and logs: state, then each component that is not ok."""
        bad = self.problems()
        if not bad:
            return f"{self.state.label}: {len(self.components)} components ok"
        worst_first = sorted(bad, key=lambda c: -c.state)
        parts = [f"{c.name} {c.state.label}" + (f" ({c.detail})" if c.detail else "") for c in worst_first]
        return f"{self.state.label}: " + "; ".join(parts)


Probe = Callable[[], ComponentHealth]


class HealthMonitor:
    """Registry of component probes; ``snapshot()`` evaluates them all."""

    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()

    def add_probe(self, name: str, probe: Probe) -> None:
        with self._lock:
            self._probes[name] = probe

    def add_fixed(self, name: str) -> Callable[[HealthState, str], None]:
        """A component whose state is pushed by its owner; returns the setter."""
        current = [ComponentHealth(name, HealthState.OK)]

        def set_state(state: HealthState, detail: str = "") -> None:
            current[0] = ComponentHealth(name, state, detail)

        self.add_probe(name, lambda: current[0])
        return set_state

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            probes = list(self._probes.items())
        components = tuple(self._evaluate(name, probe) for name, probe in probes)
        state = max((c.state for c in components), default=HealthState.OK)
        return HealthSnapshot(state=state, components=components)

    @staticmethod
    def _evaluate(name: str, probe: Probe) -> ComponentHealth:
        try:
            result = probe()
        except Exception as exc:  # a broken probe must read as failing, not crash the health loop
            log.warning("health_probe_error", component=name, error=repr(exc))
            return ComponentHealth(name, HealthState.FAILING, f"probe error: {exc}")
        if result.name != name:
            return ComponentHealth(name, result.state, result.detail)
        return result
