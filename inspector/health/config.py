"""Config section for health: aggregate state, sd_notify, optional HTTP endpoints."""

from __future__ import annotations

from pydantic import Field

from inspector.section import Section


class HealthConfig(Section):
    """Aggregate health, systemd notification and the local HTTP endpoints."""

    interval_s: float = Field(
        1.0, gt=0, le=60, description="Seconds between health evaluations (and STATUS= updates)."
    )
    notify: bool = Field(
        True, description="Send sd_notify messages (READY, WATCHDOG, STATUS) when $NOTIFY_SOCKET is set."
    )
    watchdog_pulse_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Seconds between WATCHDOG=1 pulses; null = a third of systemd's $WATCHDOG_USEC.",
    )
    degraded_is_healthy: bool = Field(
        True, description="Keep pulsing WATCHDOG=1 (and the PLC heartbeat) while degraded, not failing."
    )
    http: bool = Field(False, description="Serve GET /healthz and /metrics (Prometheus text).")
    http_host: str = Field(
        "127.0.0.1", min_length=1, max_length=255, description="Address the HTTP endpoints bind to."
    )
    http_port: int = Field(9108, ge=0, le=65535, description="TCP port of the HTTP endpoints (0 = any free).")
    http_token: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        pattern=r"^[A-Za-z0-9._~+/=-]+$",
        description="Access token every request but /healthz must carry (Authorization: Bearer, "
        "?token= or cookie); required when http_host is not a loopback address.",
    )
