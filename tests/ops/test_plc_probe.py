"""The PLC component of health: link, the PLC's heartbeat, and results too late to pulse."""

from __future__ import annotations

from dataclasses import dataclass

from inspector.health.app_view import plc_probe
from inspector.health.state import HealthState


@dataclass
class Snapshot:
    plc_alive: bool | None = None
    late: int = 0


class Output:
    """Shaped like PlcOutput's health-facing side: ``link_up`` and ``stats()``."""

    def __init__(self) -> None:
        self.link_up = True
        self.snapshot = Snapshot()

    def stats(self) -> Snapshot:
        return self.snapshot


def test_plc_probe_link_heartbeat_and_late_results() -> None:
    output = Output()
    probe = plc_probe(output)
    assert probe().state is HealthState.OK
    output.snapshot.late = 3  # three results came after their pulse was due + late_ms
    health = probe()
    assert health.state is HealthState.DEGRADED and "3 result(s) too late" in health.detail
    assert probe().state is HealthState.OK  # no new late result since the last look
    output.snapshot.plc_alive = False
    assert probe().detail == "PLC heartbeat missing"
    output.link_up = False
    assert probe().detail == "link down"
