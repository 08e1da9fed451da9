"""A small real recipe control (``inspector.app.interfaces.RecipeControl``) for tests of the ways
in (OPC UA) until the line's own one is built from config: it switches at once on ``request``,
with no line behind it to wait for the part in flight."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from inspector.app.interfaces import RecipeEntry
from inspector.errors import UnknownRecipe

PRODUCTS = (
    RecipeEntry(0, "base", "the config's base settings"),
    RecipeEntry(1, "pcb-a", "board A"),
    RecipeEntry(2, "pcb-b", "board B"),
)


class SwitchingRecipes:
    """Keeps every request (number, origin) it accepted; unknown numbers raise ``UnknownRecipe``."""

    def __init__(self, entries: Sequence[RecipeEntry] = PRODUCTS) -> None:
        self._entries = tuple(entries)
        self._active = self._entries[0]
        self._lock = threading.Lock()
        self.requests: list[tuple[int, str]] = []

    def recipes(self) -> Sequence[RecipeEntry]:
        return self._entries

    @property
    def active(self) -> RecipeEntry:
        with self._lock:
            return self._active

    def request(self, number: int, origin: str) -> None:
        entry = next((e for e in self._entries if e.number == number), None)
        if entry is None:
            raise UnknownRecipe(number)
        with self._lock:
            self.requests.append((number, origin))
            self._active = entry
