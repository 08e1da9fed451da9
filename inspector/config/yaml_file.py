"""Reading the config file: YAML text into a mapping, every failure a one-line ``ConfigError``."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import yaml

from inspector.errors import ConfigError


class ConfigLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML would silently keep
    the last one: a second rule of the same name would replace the first unseen).

    Booleans are YAML 1.2's: only true/false. YAML 1.1 also reads on/off/yes/no as booleans,
    so ``role: off`` became False and failed as "not a valid role"; as strings they still
    validate where a bool is wanted (pydantic accepts 'off', 'yes', ...).
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _unique_mapping(loader: ConfigLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


ConfigLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


# Text editors on Windows write a byte-order mark; UTF-16 only with one.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def decode(path: Path, raw: bytes) -> str:
    """The file's text: UTF-8 (or UTF-16 with a byte-order mark)."""
    encoding = next((codec for bom, codec in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}): "
            "a config file is YAML text"
        ) from None


def yaml_problem(path: Path, text: str, exc: yaml.YAMLError) -> ConfigError:
    """A parser error as one line: where (line, column) and what."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow, e.g. NUL
        line = text[: exc.position].count("\n") + 1
        what = f"unacceptable character #x{exc.character:04x} at line {line}"  # type: ignore[str-format]
        return ConfigError(f"config file {path} is not valid YAML: {what} (is it a text file?)")
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):  # "expected a single document ..., but found another"
        problem = f"{context}, {problem}"
    return ConfigError(f"config file {path} is not valid YAML{where}: {problem}")


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; a missing, unreadable or malformed file is a ConfigError."""
    text = decode(path, read_bytes(path))
    try:
        data = yaml.load(text, Loader=ConfigLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        raise yaml_problem(path, text, exc) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    return data
