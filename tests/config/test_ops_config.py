"""The watchdog / health / archive sections: every key in the example config, bounds enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inspector.archive.config import ArchiveConfig
from inspector.config.settings import load_config
from inspector.health.config import HealthConfig
from inspector.watchdog.config import OomConfig, WatchdogConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "line-example.yaml"


def test_example_config_lists_every_key() -> None:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    assert set(data["watchdog"]) == set(WatchdogConfig.model_fields)
    assert set(data["watchdog"]["oom"]) == set(OomConfig.model_fields)
    assert set(data["health"]) == set(HealthConfig.model_fields)
    assert set(data["archive"]) == set(ArchiveConfig.model_fields)
    assert load_config(EXAMPLE).watchdog == WatchdogConfig()
