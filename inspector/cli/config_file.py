"""The config a ``check`` or ``run`` works on: ``--config FILE``, else ``$INSPECTOR_CONFIG``, else the
``INSPECTOR_*`` environment alone (a container may configure the whole line that way)."""

from __future__ import annotations

import os

from inspector.config.settings import CONFIG_ENV, InspectorConfig, config_path_from_env, load_config
from inspector.errors import ConfigError

NO_CONFIG = f"no config given: pass --config FILE (e.g. --config config/demo.yaml) or set {CONFIG_ENV}=FILE"


def environment_configures() -> bool:
    """True when some ``INSPECTOR_*`` variable other than ``$INSPECTOR_CONFIG`` sets a key."""
    return any(name.startswith("INSPECTOR_") and name != CONFIG_ENV for name in os.environ)


def load_given_config(path: str | None) -> InspectorConfig:
    """The validated config; with neither a file nor any override, say so instead of listing what an
    empty config lacks ("sources: at least one source is needed" reads as a broken file)."""
    if config_path_from_env(path) is not None:
        return load_config(path)
    if not environment_configures():
        raise ConfigError(NO_CONFIG)
    try:
        return load_config(None)
    except ConfigError as exc:
        raise ConfigError(
            f"no config file given (--config FILE or ${CONFIG_ENV}), and the INSPECTOR_* "
            "environment alone is not a valid config:",
            exc.problems,
        ) from None
