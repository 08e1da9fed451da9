"""The line's product changeover: which recipe parts are judged by, switched between parts.

A part gets its recipe at capture (``stamp``: ``FrameMsg.recipe``) and every later stage looks
its parts up by that number (``parts_for``), so a switch never changes a part mid-way: parts
captured before it drain under the old recipe, parts captured after it are judged by the new
one. A reload installs a new book of parts the same way: it takes effect from the next captured
part on; parts captured before it finish with the book they were captured under.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from inspector.app.interfaces import RecipeControl, RecipeEntry
from inspector.app.recipe_parts import RecipeBook, RecipeFactory, RecipeParts
from inspector.errors import ConfigError, UnknownRecipe
from inspector.logging import get_logger
from inspector.messages import FrameMsg

log = get_logger("inspector.recipes")

GENERATIONS_KEPT = 4  # books kept for parts still in flight after reloads (one part's time each)

RecipeListener = Callable[[RecipeEntry], None]


class RecipeSwitch:
    """The one ``RecipeControl`` of a line (PLC register, OPC UA, reload). Thread-safe."""

    def __init__(self, book: RecipeBook, factory: RecipeFactory | None = None, active: int = 0) -> None:
        self.factory = factory or RecipeFactory()  # what built the book; a reload builds the next
        self._lock = threading.Lock()
        self._book = book
        self._generations: list[tuple[int, RecipeBook]] = [(0, book)]  # (first seq, book)
        self._pin_next = False
        self._active = active if active in book else 0
        self._listeners: list[RecipeListener] = []

    # RecipeControl ---------------------------------------------------------------------------
    def recipes(self) -> Sequence[RecipeEntry]:
        with self._lock:
            return self._book.entries()

    @property
    def active(self) -> RecipeEntry:
        with self._lock:
            return self._book.parts[self._active].entry

    def request(self, number: int, origin: str) -> None:
        """Switch to ``number`` from the next captured part on; ``UnknownRecipe`` keeps the old."""
        with self._lock:
            old = self._book.parts[self._active].entry
            parts = self._book.get(number)
            if parts is None:
                log.warning("recipe_refused", requested=number, active=old.number, origin=origin)
                raise UnknownRecipe(number)
            if number == old.number:
                return
            self._active = number
            listeners = list(self._listeners)
        log.info(
            "recipe_changed",
            old=old.number,
            old_name=old.name,
            new=number,
            new_name=parts.entry.name,
            origin=origin,
        )
        for listener in listeners:
            listener(parts.entry)

    # the line's side -------------------------------------------------------------------------
    def on_change(self, listener: RecipeListener) -> None:
        """``listener(entry)`` after every switch (the PLC's acknowledge register); it runs on the
        requester's thread and must not block."""
        with self._lock:
            self._listeners.append(listener)

    def stamp(self, seq: int, wanted: int | None = None) -> int:
        """The recipe of the part captured now as ``seq``: ``wanted`` (a PLC trigger's, switched
        to first) or the active one. Pins a newly installed book from this part on."""
        if wanted is not None and wanted != self._active:
            # unknown: the part is judged by the active recipe; the PLC side reported it
            with contextlib.suppress(UnknownRecipe):
                self.request(wanted, "plc trigger")
        with self._lock:
            if self._pin_next:
                first = max(seq, self._generations[-1][0])
                self._generations.append((first, self._book))
                del self._generations[:-GENERATIONS_KEPT]
                self._pin_next = False
            return self._active

    def parts_for(self, msg: FrameMsg) -> RecipeParts:
        """The parts ``msg`` is judged by: its recipe in the book it was captured under."""
        with self._lock:
            generations = self._generations
            at = bisect.bisect_right(generations, msg.seq, key=lambda g: g[0]) - 1
            for _, book in reversed(generations[: max(at, 0) + 1]):
                parts = book.get(msg.recipe)
                if parts is not None:
                    return parts
            return self._book.get(msg.recipe) or self._book.base

    def books(self) -> list[RecipeBook]:
        """The books in use (parts in flight may still hold the older ones)."""
        with self._lock:
            return [book for _, book in self._generations] + [self._book]

    @property
    def book(self) -> RecipeBook:
        with self._lock:
            return self._book

    def control(self) -> RecipeControl:
        """This switch as the seam an output (OPC UA) is handed: typed, so the shapes must agree."""
        return self

    def install(self, book: RecipeBook, origin: str) -> None:
        """Use ``book`` from the next captured part on; refused (ConfigError) when it lacks the
        active recipe: the line would lose the product it is running."""
        with self._lock:
            if self._active not in book:
                raise ConfigError(
                    "the new config has no recipe number of the active one",
                    ((f"recipes (number {self._active})", "the active recipe is missing; switch first"),),
                )
            self._book = book
            self._pin_next = True
        log.info("recipes_installed", recipes=[e.number for e in book.entries()], origin=origin)


@runtime_checkable
class RecipeOutput(Protocol):
    """An output that selects recipes and shows the active one (``PlcOutput``'s registers)."""

    def attach_recipes(self, recipes: RecipeSwitch, active: int) -> None: ...

    def recipe_changed(self, number: int) -> None: ...


def attach_recipes(recipes: RecipeSwitch, outputs: Iterable[object]) -> None:
    """Hand the switch to each output that selects recipes, and tell it of every switch; a line
    without recipes (only the base settings) has nothing to select (the PLC's request unread)."""
    if len(recipes.recipes()) < 2:
        return
    for output in outputs:
        if isinstance(output, RecipeOutput):
            output.attach_recipes(recipes, recipes.active.number)
            recipes.on_change(_shown_by(output))


def _shown_by(output: RecipeOutput) -> RecipeListener:
    def changed(entry: RecipeEntry) -> None:
        output.recipe_changed(entry.number)

    return changed
