"""The watchdog / health / archive sections: every key in the example config, bounds enforced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from inspector.archive.config import ArchiveConfig
from inspector.config.settings import load_config
from inspector.errors import ConfigError
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


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("watchdog:\n  stall_after_s: 0\n", "watchdog.stall_after_s"),
        ("watchdog:\n  oom:\n    on_repeat: reboot\n", "watchdog.oom.on_repeat"),
        ("health:\n  http_port: 70000\n", "health.http_port"),
        ("archive:\n  quota_mib: 0\n", "archive.quota_mib"),
        ("archive:\n  bogus: 1\n", "archive.bogus: unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert needle in str(info.value)
