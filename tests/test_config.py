"""Config loading: YAML + environment, errors by key path, exit 2 from the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector.config.settings import InspectorConfig, load_config
from inspector.errors import ConfigError


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_empty_config_is_valid() -> None:
    assert isinstance(load_config(None), InspectorConfig)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("plc:\n  bogus: 1\n", "plc.bogus: unknown key"),
        ("nonsense_section: {}\n", "nonsense_section: unknown key"),
        ("a: [\n", "not valid YAML at line"),
        ("- 1\n- 2\n", "must hold a mapping"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert needle in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")


def test_cli_check_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("plc:\n  bogus: 1\n")
    result = run_check("--config", str(path))
    assert result.returncode == 2
    assert "plc.bogus" in result.stderr
    assert "Traceback" not in result.stderr


def every_field(model: type, prefix: str = "") -> list[tuple[str, object]]:
    from pydantic import BaseModel

    out = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        out.append((prefix + name, field))
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                out.extend(every_field(candidate, prefix + name + "."))
    return out


def test_every_config_field_is_described() -> None:
    undocumented = [path for path, field in every_field(InspectorConfig) if not field.description]  # type: ignore[attr-defined]
    assert undocumented == []
