"""The shipped example configs: valid, and complete where they promise to be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from inspector.app.config import RuntimeConfig
from inspector.app.demo import DEMO_CONFIG
from inspector.config.settings import load_config
from inspector.engine.config import EngineConfig
from inspector.logging import LogConfig
from inspector.preprocess.config import PreprocessStep
from inspector.sources.config import SourceConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def test_demo_yaml_mirrors_the_embedded_demo_defaults() -> None:
    assert yaml.safe_load((CONFIG_DIR / "demo.yaml").read_text()) == DEMO_CONFIG


def test_demo_yaml_is_valid() -> None:
    config = load_config(CONFIG_DIR / "demo.yaml")
    assert config.plc.role.value == "client" and config.sources[0].kind == "synthetic"


def test_line_example_is_valid() -> None:
    config = load_config(CONFIG_DIR / "line-example.yaml")
    assert {s.kind for s in config.sources} == {"camera", "folder", "synthetic", "genicam"}


def field_names(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize("section", ["runtime", "log", "engine"])
def test_line_example_lists_every_key_of_the_runtime_sections(section: str) -> None:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "line-example.yaml").read_text())
    model = {"runtime": RuntimeConfig, "log": LogConfig, "engine": EngineConfig}[section]
    assert set(data[section]) == field_names(model)


@pytest.mark.parametrize(("key", "union"), [("sources", SourceConfig), ("preprocess", PreprocessStep)])
def test_line_example_shows_every_kind_with_every_key(key: str, union: Any) -> None:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "line-example.yaml").read_text())
    members = union.__origin__.__args__  # Annotated[A | B | ..., discriminator]
    tag = "kind" if key == "sources" else "step"
    shown = {entry[tag]: set(entry) for entry in data[key]}
    for member in members:
        name = member.model_fields[tag].annotation.__args__[0]
        assert shown.get(name) == field_names(member), f"{key}: {name}"


@pytest.mark.parametrize("union", [SourceConfig, PreprocessStep])
def test_every_source_and_step_field_is_described(union: Any) -> None:
    for member in union.__origin__.__args__:
        undocumented = [n for n, f in member.model_fields.items() if not f.description]
        assert undocumented == [], member.__name__
