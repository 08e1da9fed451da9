"""Aggregate health (ok/degraded/failing), systemd notification, and the local HTTP endpoints."""
