"""Reading the config file: YAML text into a mapping, every failure a one-line ``ConfigError``.

A config file is edited by hand on a line PC, so what can be wrong with it is named in the
user's terms: the file (missing, a directory, unreadable, not text), the YAML (line and
column), or the key (a key given twice, by its key path). No parser traceback reaches the user.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import yaml

from inspector.errors import ConfigError

Problem = tuple[str, str]


class ConfigLoader(yaml.SafeLoader):
    """The safe loader with YAML 1.2 booleans.

    YAML 1.1 also reads on/off/yes/no as booleans, so ``role: off`` became False and failed as
    "not a valid role"; as strings they still validate where a bool is wanted (pydantic accepts
    'off', 'yes', ...).
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

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


def duplicate_keys(root: yaml.Node) -> list[Problem]:
    """Keys given twice in one mapping, by key path (YAML would silently keep the last one: a
    second rule of the same name would replace the first unseen). Iterative, and each node is
    visited once: anchors may make the node graph shared or cyclic."""
    found: list[tuple[int, str, str]] = []
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                line = key_node.start_mark.line + 1
                if key in lines and key != "<<":
                    where = ".".join((*path, key))
                    lines_text = f"lines {lines[key]} and {line}" if lines[key] != line else f"line {line}"
                    found.append((line, where, f"key given twice ({lines_text})"))
                lines.setdefault(key, line)
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(node.value))
    return [(where, reason) for _, where, reason in sorted(found)]


def compose(path: Path, text: str) -> Any:
    """The document's data, or None for an empty one; duplicate keys are a ConfigError."""
    loader = ConfigLoader(text)  # a SafeLoader subclass: builds plain data only
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = duplicate_keys(node)
        if problems:
            raise ConfigError(f"config file {path} is invalid:", tuple(problems))
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse(path: Path, text: str) -> Any:
    """The YAML document in ``text``; duplicate keys and parser errors are ConfigErrors."""
    try:
        return compose(path, text)
    except yaml.YAMLError as exc:  # the reader checks characters as it is made: inside the try
        raise yaml_problem(path, text, exc) from None
    except RecursionError:  # the parser recurses once per level: [[[[...
        raise ConfigError(f"config file {path} is nested too deeply to be a config file") from None


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; a missing, unreadable or malformed file is a ConfigError."""
    text = decode(path, read_bytes(path))
    data = parse(path, text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    # A key YAML reads as a number or null (`1:`, `~:`) is no section name either: validation
    # names it as an unknown key.
    return {str(key): value for key, value in data.items()}
