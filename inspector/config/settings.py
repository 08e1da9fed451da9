"""Typed configuration: one YAML file plus ``INSPECTOR_*`` environment overrides.

Each stage owns its section model (``inspector/<stage>/config.py``); this module
assembles them, reads the file, and turns every validation failure into a
``ConfigError`` listing key paths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from inspector.app.config import RuntimeConfig
from inspector.archive.config import ArchiveConfig
from inspector.config import env as env_overrides
from inspector.engine.config import EngineConfig
from inspector.errors import ConfigError
from inspector.health.config import HealthConfig
from inspector.logging import LogConfig, get_logger
from inspector.plc.config import PlcConfig
from inspector.preprocess.config import PreprocessStep
from inspector.rules.config import RulesConfig
from inspector.sources.config import SourceConfig
from inspector.watchdog.config import WatchdogConfig

CONFIG_ENV = "INSPECTOR_CONFIG"
log = get_logger("inspector.config")


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML would silently keep
    the last one: a second rule of the same name would replace the first unseen).

    Booleans are YAML 1.2's: only true/false. YAML 1.1 also reads on/off/yes/no as booleans,
    so ``role: off`` became False and failed as "not a valid role"; as strings they still
    validate where a bool is wanted (pydantic accepts 'off', 'yes', ...).
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; a missing, unreadable or malformed file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    return data


def problems_of(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    """(key path, reason) for each validation error, e.g. ('plc.port', 'Input should be ...')."""
    out = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"]) or "<root>"
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        out.append((path, reason))
    return tuple(out)


def config_path_from_env(explicit: str | Path | None) -> Path | None:
    """The config file to read: an explicit path, else ``$INSPECTOR_CONFIG``, else none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None


def _env_problems(exc: SettingsError) -> ConfigError:
    """A malformed JSON override as a ConfigError naming the variable."""
    names = env_overrides.bad_json_vars(InspectorConfig)
    if not names:  # not one we can point at: still one message, no traceback
        return ConfigError(f"environment override is invalid: {exc}")
    reason = f"not valid JSON: {env_overrides.JSON_HINT}"
    return ConfigError("environment override is invalid:", tuple((name, reason) for name in names))


def _warn_unknown_env() -> None:
    for name in env_overrides.unknown_vars(InspectorConfig):
        log.warning(
            "unknown_env_var",
            variable=name,
            hint="maps to no config key and is ignored; nested keys are joined by '__' (INSPECTOR_PLC__HOST)",
        )


def load_config(path: str | Path | None = None) -> InspectorConfig:
    """Validate the YAML file (and environment overrides) into an ``InspectorConfig``.

    ``INSPECTOR_*`` variables that map to no config key are logged as warnings.
    """
    resolved = config_path_from_env(path)
    data = read_yaml(resolved) if resolved else {}
    _warn_unknown_env()
    try:
        return InspectorConfig(**data)
    except ValidationError as exc:
        where = f"config file {resolved}" if resolved else "configuration"
        raise ConfigError(f"{where} is invalid:", problems_of(exc)) from None
    except SettingsError as exc:
        raise _env_problems(exc) from None
