"""Environment overrides: ``INSPECTOR_`` + the key path joined by ``__``.

pydantic-settings reads the variables; this module adds what it lacks: list
entries by index (``INSPECTOR_SOURCES__0__URI`` overrides the first source of
the YAML file: a per-site camera URI), the variable named when its JSON value is
malformed or its value is invalid (the file has no such line to look for), and the
names of variables that map to no key (a typo such as ``INSPECTOR_PLC_HOST`` would
otherwise be ignored silently: the daemon would talk to the file's PLC address).
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from inspector.errors import ConfigError

PREFIX = "INSPECTOR_"
DELIMITER = "__"
NON_CONFIG_VARS = frozenset({"INSPECTOR_CONFIG"})  # read by the CLI, not config keys
_MISSING: Any = object()
JSON_HINT = (
    "a list or section set in one variable must be JSON, e.g. "
    'INSPECTOR_SOURCES=\'[{"kind": "camera", "uri": "rtsp://..."}]\'; one key can also be set '
    "alone, list entries by index: INSPECTOR_SOURCES__0__URI=rtsp://..."
)


def _candidates(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Optional/Union/Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg) if c is not type(None)]
    return [annotation]


def _is_sequence(annotation: Any) -> bool:
    return any(typing.get_origin(c) in (list, tuple) for c in _candidates(annotation))


def _child(annotation: Any, key: str) -> Any:
    """The annotation of ``key`` inside a value of ``annotation`` (a model field, a list item, a
    dict value), or _MISSING when no candidate type has it."""
    for cand in _candidates(annotation):
        origin, args = typing.get_origin(cand), typing.get_args(cand)
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            field = cand.model_fields.get(key)
            if field is not None:
                return field.annotation
        elif origin in (list, tuple) and args and key.isdigit():
            return args[0]
        elif origin is dict and len(args) == 2:
            return args[1]
    return _MISSING


def annotation_at(model: type[BaseModel], path: list[str]) -> Any:
    """The annotation of a key path (lower-case names, list indices as digits), or _MISSING."""
    annotation: Any = model
    for key in path:
        annotation = _child(annotation, key)
        if annotation is _MISSING:
            return _MISSING
    return annotation


def _is_complex(annotation: Any) -> bool:
    """Whether pydantic-settings parses a variable for this key as JSON."""
    for cand in _candidates(annotation):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return True
        if typing.get_origin(cand) in (list, tuple, dict, set, frozenset):
            return True
    return False


def config_vars(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``INSPECTOR_*`` variables meant as config overrides."""
    env = os.environ if environ is None else environ
    return {
        name: value
        for name, value in env.items()
        if name.upper().startswith(PREFIX) and name.upper() not in NON_CONFIG_VARS
    }


def _key_path(name: str) -> list[str]:
    return name[len(PREFIX) :].lower().split(DELIMITER)


def unknown_vars(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[str]:
    """Variables whose top-level section is no config key (deeper unknown keys are refused by
    the section models themselves)."""
    return sorted(name for name in config_vars(environ) if _key_path(name)[0] not in model.model_fields)


UNKNOWN_VAR = "maps to no config key (nested keys are joined by '__', e.g. INSPECTOR_PLC__HOST)"


def unknown_var_problems(
    model: type[BaseModel], environ: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    return [(name, UNKNOWN_VAR) for name in unknown_vars(model, environ)]


def bad_json_vars(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[str]:
    """Variables for a list or section key whose value is not valid JSON (an empty one included:
    pydantic-settings parses it as JSON too)."""
    out = []
    for name, value in config_vars(environ).items():
        annotation = annotation_at(model, _key_path(name))
        if annotation is _MISSING or not _is_complex(annotation):
            continue
        try:
            json.loads(value)
        except (ValueError, RecursionError):
            out.append(name)
    return sorted(out)


def _sets(keys: list[str], loc: list[str]) -> bool:
    """Whether a variable for the key path ``keys`` set the value at the error location ``loc``,
    or a key inside it. ``loc`` may hold parts no variable names (the kind of a list entry, as in
    sources.0.camera.uri), which are skipped."""
    if not loc or loc[0] != keys[0]:
        return False
    matched = 0
    for part in loc:
        if matched < len(keys) and part == keys[matched]:
            matched += 1
    return matched == len(keys) or keys[: len(loc)] == loc


def variable_for(path: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The ``INSPECTOR_*`` variable that set the value at ``path`` (a problem's key path such
    as 'plc.pulses.late_ms'), the most specific one when several do; None when none did."""
    loc = path.lower().split(".")
    names = [name for name in config_vars(environ) if _sets(_key_path(name), loc)]
    return max(names, key=lambda name: len(_key_path(name)), default=None)


def attributed(problems: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Problems whose value came from the environment, with the variable named."""
    out = []
    for path, reason in problems:
        name = variable_for(path)
        out.append((path, f"{reason} (from {name})" if name else reason))
    return tuple(out)


def merge(model: type[BaseModel], base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """``over`` (from the environment) laid over ``base`` (from the file); a mapping of digit keys
    over a list key sets entries by index."""
    if not isinstance(over, dict):
        return over
    if _is_sequence(annotation_at(model, list(path))) and all(str(k).isdigit() for k in over):
        return _merge_list(model, [] if base is _MISSING or base is None else base, over, path)
    if not isinstance(base, dict):
        base = {}
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(model, base.get(key, _MISSING), value, (*path, str(key)))
    return out


def _merge_list(model: type[BaseModel], base: Any, over: dict[str, Any], path: tuple[str, ...]) -> Any:
    if not isinstance(base, list | tuple):
        return over  # not a list in the file either: let validation say what it is
    items = list(base)
    for index, value in sorted(((int(k), v) for k, v in over.items()), key=lambda kv: kv[0]):
        where = ".".join((*path, str(index)))
        if index > len(items):
            reason = f"index {index} skips entries: the list has {len(items)} (entries count from 0)"
            name = variable_for(where)
            raise ConfigError(
                "environment override is invalid:", ((where, f"{reason} (from {name})" if name else reason),)
            )
        old = items[index] if index < len(items) else _MISSING
        merged = merge(model, old, value, (*path, str(index)))
        if index < len(items):
            items[index] = merged
        else:
            items.append(merged)
    return items


class EnvOverFile(PydanticBaseSettingsSource):
    """One source: the YAML file's values (init kwargs) with the environment laid over them."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env: PydanticBaseSettingsSource,
        init: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._env = env
        self._init = init

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        return dict(merge(self.settings_cls, self._init(), self._env()))
