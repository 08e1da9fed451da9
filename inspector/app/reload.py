"""Hot reload (SIGHUP, ``systemctl reload inspector``): the config file read again, applied between parts.

The signal handler only sets an event; this module's thread does the work while the line runs:
read and validate the file exactly as at start, compare it with the running config, build the
new recipes' parts (loading a changed model now, beside the running one), then install them
at once: the next captured part is judged by the new config, parts already captured finish with
the old one, and the PLC link, the cameras and the queues are never touched. Only ``engine``
(but ``engine.device``), ``rules``, ``preprocess`` and ``recipes`` can change this way; a change
anywhere else needs a restart and the whole reload is refused, naming the keys; so do the first
recipes of a line started without any (its PLC output reads the recipe request only then). Every attempt is
one audit event: ``config_reloaded`` or ``config_reload_refused`` with the origin, the file's
SHA-256 before and after, and the keys that differ.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inspector.app.recipes import RecipeSwitch
from inspector.config.checks import check_line
from inspector.config.settings import InspectorConfig, load_config
from inspector.errors import ConfigError, InspectorError
from inspector.logging import get_logger

log = get_logger("inspector.reload")

HOT_SECTIONS = frozenset({"engine", "rules", "preprocess", "recipes"})
RESTART_KEYS = frozenset({"engine.device"})  # the watchdogs and the OOM guard watch that device
MAX_LISTED = 100  # keys listed in one audit event


def file_hash(path: Path | None) -> str | None:
    """SHA-256 of the file's bytes (None without a file, or when it cannot be read)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def changed_keys(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Dotted key paths whose values differ (mappings by key, equal-length lists by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                yield path
            else:
                yield from changed_keys(old[key], new[key], path)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from changed_keys(a, b, f"{prefix}.{index}")
    elif old != new:
        yield prefix or "<root>"


def needs_restart(key: str) -> bool:
    section = key.split(".", 1)[0]
    return section not in HOT_SECTIONS or any(key == k or key.startswith(k + ".") for k in RESTART_KEYS)


class ConfigReloader:
    """Re-reads ``path`` when asked (``request`` is signal-handler safe) and applies what it may."""

    def __init__(self, config: InspectorConfig, path: Path | None, recipes: RecipeSwitch) -> None:
        self.config = config  # the running config (the start one until a reload is applied)
        self.path = path
        self.recipes = recipes
        self.applied = 0
        self.refused = 0
        self._hash = file_hash(path)
        self._wanted = threading.Event()
        self._origin = "SIGHUP"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def request(self, origin: str = "SIGHUP") -> None:
        """Ask for a reload (only sets an event: safe in a signal handler)."""
        self._origin = origin
        self._wanted.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inspector-reload", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wanted.wait(0.2) and not self._stop.is_set():
                self._wanted.clear()
                self.reload(self._origin)

    def reload(self, origin: str) -> bool:
        """Read, check and apply the file once; True when applied (or nothing changed)."""
        after = file_hash(self.path)
        audit = {"origin": origin, "path": str(self.path), "sha256_before": self._hash, "sha256_after": after}
        if self.path is None:
            return self._refuse(audit, [], "no config file to read again (started from the environment)")
        try:
            config = load_config(self.path)
            check_line(config)
        except ConfigError as exc:
            return self._refuse(audit, [], str(exc), problems=[f"{p}: {why}" for p, why in exc.problems])
        keys = list(changed_keys(self.config.model_dump(mode="json"), config.model_dump(mode="json")))
        restart = [key for key in keys if needs_restart(key)]
        if config.recipes and not self.config.recipes:  # the PLC's recipe request is read only then
            restart.append("recipes (a line started without recipes)")
        if restart:
            why = f"needs a restart to change: {', '.join(restart[:MAX_LISTED])}; the running config stays"
            return self._refuse(audit, keys, why, restart_keys=restart[:MAX_LISTED])
        if keys:
            try:
                book = self.recipes.factory.book(config)
                self.recipes.install(book, origin)
            except InspectorError as exc:  # a model that does not load, a recipe it lacks
                return self._refuse(audit, keys, str(exc))
            self.recipes.factory.forget_unused(self.recipes.books())
        self.config, self._hash = config, after
        self.applied += 1
        log.info("config_reloaded", **audit, changed=keys[:MAX_LISTED], unchanged=not keys)
        return True

    def _refuse(self, audit: dict[str, Any], keys: list[str], reason: str, **more: Any) -> bool:
        self.refused += 1
        log.error("config_reload_refused", **audit, changed=keys[:MAX_LISTED], reason=reason, **more)
        return False
