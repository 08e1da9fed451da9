"""Typed configuration: one YAML file plus ``INSPECTOR_*`` environment overrides.

Each stage owns its section model (``inspector/<stage>/config.py``); this module
assembles them, reads the file, and turns every validation failure into a
``ConfigError`` listing key paths.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from inspector.app.config import RuntimeConfig
from inspector.archive.config import ArchiveConfig
from inspector.config import env as env_overrides
from inspector.config.recipes import (
    RecipeConfig,
    RecipeName,
    RecipeView,
    merge_recipes,
    number_problems,
    recipe_views,
)
from inspector.config.yaml_file import read_yaml
from inspector.engine.config import EngineConfig
from inspector.errors import ConfigError
from inspector.health.config import HealthConfig
from inspector.logging import LogConfig
from inspector.opcua.config import OpcUaConfig
from inspector.plc.config import PlcConfig
from inspector.preprocess.config import PreprocessStep
from inspector.rules.config import RulesConfig
from inspector.sources.config import SourceConfig
from inspector.watchdog.config import WatchdogConfig
from inspector.web.config import WebConfig

CONFIG_ENV = "INSPECTOR_CONFIG"


class InspectorConfig(BaseSettings):
    """The whole daemon's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="INSPECTOR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    sources: list[SourceConfig] = Field(
        default_factory=list, description="Cameras / image sources feeding the line."
    )
    preprocess: list[PreprocessStep] = Field(
        default_factory=list, description="Preprocessing steps applied in order to every frame."
    )
    engine: EngineConfig = Field(
        default_factory=EngineConfig, description="Segmentation model and inference options."
    )
    rules: RulesConfig = Field(
        default_factory=RulesConfig, description="Geometry features and inspection rules."
    )
    plc: PlcConfig = Field(default_factory=PlcConfig, description="PLC link (Modbus) and fail-safe policy.")
    runtime: RuntimeConfig = Field(
        default_factory=RuntimeConfig, description="Queues, batching, shutdown, stats."
    )
    log: LogConfig = Field(default_factory=LogConfig, description="Log format and level.")
    watchdog: WatchdogConfig = Field(
        default_factory=WatchdogConfig, description="Memory and liveness watchdogs."
    )
    health: HealthConfig = Field(
        default_factory=HealthConfig, description="Health state, sd_notify, HTTP endpoints."
    )
    archive: ArchiveConfig = Field(
        default_factory=ArchiveConfig, description="Reject archive: images, overlays, JSON, disk quota."
    )
    web: WebConfig = Field(
        default_factory=WebConfig, description="Operator web page on the health.http port."
    )
    opcua: OpcUaConfig = Field(
        default_factory=OpcUaConfig, description="OPC UA server (OPC 40100 Machine Vision) for SCADA/MES."
    )
    recipes: dict[RecipeName, RecipeConfig] = Field(
        default_factory=dict,
        description="Products the PLC can select by number, keyed by name; each lists what differs "
        "from the base settings above (recipe 0).",
    )

    @model_validator(mode="before")
    @classmethod
    def _recipes_over_base(cls, data: Any) -> Any:
        return merge_recipes(data)

    @field_validator("recipes")
    @classmethod
    def _unique_numbers(cls, recipes: dict[str, RecipeConfig]) -> dict[str, RecipeConfig]:
        problems = number_problems(recipes)
        if problems:
            raise ValueError("; ".join(problems))
        return recipes

    def recipe_views(self) -> list[RecipeView]:
        """Recipe 0 (these base settings), then every recipe by number, each section resolved."""
        return recipe_views(self.engine, self.preprocess, self.rules, self.recipes)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides what the YAML file (passed as init kwargs) says, list
        # entries by index too (pydantic-settings alone would replace a list by a mapping).
        return (env_overrides.EnvOverFile(settings_cls, env_settings, init_settings),)


# pydantic error types whose message names a Python class ("instance of PlcConfig"): said in
# the file's terms instead.
MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})
MAX_PROBLEMS = 50  # a list of 10 000 wrong entries is one mistake, not 10 000 lines to read


def _yaml_type(value: object) -> str:
    if isinstance(value, list | tuple):
        return "a list"
    return "a mapping" if isinstance(value, dict) else f"{type(value).__name__} {value!r:.40}"


def _reason(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1]) if err["loc"] else ""
        if "." in key.strip("."):  # `pulses.late_ms: 5` under plc reads like the right key path
            outer, inner = key.split(".", 1)
            return f"unknown key: a key holds no dots, nest it ({outer}: {{{inner}: ...}})"
        return "unknown key"
    if err["type"] in MAPPING_ERRORS:
        return f"should be a section of keys (key: value), not {_yaml_type(err['input'])}"
    if err["type"] == "path_type":
        return f"should be a file path, not {_yaml_type(err['input'])}"
    return str(err["msg"]).removeprefix("Value error, ")


def problems_of(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """(key path, reason) for each validation error, e.g. ('plc.port', 'Input should be ...')."""
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        reason = _reason(err)
        if loc and loc[-1] == "[key]":  # a mapping key of the wrong type, e.g. a number as a zone name
            loc, reason = loc[:-1], f"the key should be a name: {reason}"
        out.append((".".join(loc) or "<root>", reason))
    if len(out) > MAX_PROBLEMS:
        out[MAX_PROBLEMS:] = [("...", f"{len(out) - MAX_PROBLEMS} more problems not shown")]
    return tuple(out)


def config_path_from_env(explicit: str | Path | None) -> Path | None:
    """The config file to read: an explicit path, else ``$INSPECTOR_CONFIG``, else none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None


def _env_problems(exc: Exception, unknown: list[tuple[str, str]]) -> ConfigError:
    """A malformed JSON override as a ConfigError naming the variable."""
    names = env_overrides.bad_json_vars(InspectorConfig)
    if not names and not unknown:  # not one we can point at: still one message, no traceback
        return ConfigError(f"environment override is invalid: {exc}")
    reason = f"not valid JSON: {env_overrides.JSON_HINT}"
    return ConfigError("environment override is invalid:", (*unknown, *((name, reason) for name in names)))


def load_config(path: str | Path | None = None) -> InspectorConfig:
    """Validate the YAML file (and environment overrides) into an ``InspectorConfig``.

    An ``INSPECTOR_*`` variable that maps to no config key is an error like an unknown key in
    the file; a problem with a value a variable set names that variable.
    """
    resolved = config_path_from_env(path)
    data = read_yaml(resolved) if resolved else {}
    unknown = env_overrides.unknown_var_problems(InspectorConfig)
    try:
        config = InspectorConfig(**data)
    except ValidationError as exc:
        problems = env_overrides.attributed(problems_of(exc))
        where = f"config file {resolved}" if resolved else "configuration"
        if unknown or problems != problems_of(exc):
            where += " with its INSPECTOR_* environment overrides"
        raise ConfigError(f"{where} is invalid:", (*unknown, *problems)) from None
    except (SettingsError, RecursionError) as exc:  # RecursionError: JSON nested past the parser
        raise _env_problems(exc, unknown) from None
    if unknown:
        raise ConfigError("environment override is invalid:", tuple(unknown))
    return config
