"""RecipeManagement: the recipes listed (GetRecipeListFiltered, our ``Recipes`` variable) and
selected (PrepareRecipe, PrepareProduct) through the line's recipe control, the same switch the
PLC's recipe register makes. A recipe's external id, product id and internal id are its number
("3"); the external and product id may also be its name. Unknown → BadInvalidArgument (the
active recipe stays); a caller who is not an operator → BadUserAccessDenied."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from asyncua import ua

from inspector.errors import UnknownRecipe
from inspector.logging import get_logger
from inspector.opcua.access import CALLER
from inspector.opcua.nodes import GENERATED, VisionNodes, _write
from inspector.opcua.state import RecipeBook, RecipeLike

log = get_logger("inspector.opcua")


class BaseOnly:
    """The recipe book of a config without recipes: only the base settings, number 0."""

    class _Base:
        number = 0
        name = "base"
        description = "the configuration's base settings"

    def recipes(self) -> Sequence[RecipeLike]:
        return (self._Base(),)

    @property
    def active(self) -> RecipeLike:
        return self._Base()

    def request(self, number: int, origin: str) -> None:
        if number != 0:
            raise UnknownRecipe(number)


class RecipeMethods:
    """The RecipeManagement methods' handlers, linked to the instance's method nodes."""

    def __init__(self, nodes: VisionNodes, book: RecipeBook | None) -> None:
        self.nodes = nodes
        self.book: RecipeBook = book if book is not None else BaseOnly()

    async def link(self) -> None:
        manager = await self.nodes.system.get_child(f"{self.nodes.mv}:RecipeManagement")
        handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "PrepareRecipe": self.prepare_recipe,
            "PrepareProduct": self.prepare_product,
            "GetRecipeListFiltered": self.recipe_list,
        }
        for name, handler in handlers.items():
            self.nodes.server.link_method(await manager.get_child(f"{self.nodes.mv}:{name}"), handler)
        await self.show()

    async def show(self) -> None:
        """Our ``Recipes`` ("number: name") and ``ActiveRecipe`` variables."""
        if self.nodes.recipe_list is not None:
            listed = [f"{r.number}: {r.name}" for r in self.book.recipes()]
            await _write(self.nodes.recipe_list, listed, ua.VariantType.String)
        if self.nodes.active_recipe is not None:
            await _write(self.nodes.active_recipe, self.book.active.number, ua.VariantType.UInt32)

    def find(self, key: str) -> RecipeLike | None:
        key = key.strip()
        for recipe in self.book.recipes():
            if key in (str(recipe.number), recipe.name):
                return recipe
        return None

    async def prepare_recipe(self, parent: Any, external: Any, internal: Any = None) -> Any:
        key = _id_of(internal) or _id_of(external)
        result = await self._select(key, "PrepareRecipe")
        if isinstance(result, ua.StatusCode):
            return result
        completed = self.book.active.number == result.number
        return [_internal(result), ua.Variant(completed, ua.VariantType.Boolean), _no_error()]

    async def prepare_product(self, parent: Any, product: Any) -> Any:
        result = await self._select(_id_of(product), "PrepareProduct")
        return result if isinstance(result, ua.StatusCode) else [_internal(result), _no_error()]

    async def _select(self, key: str, method: str) -> RecipeLike | ua.StatusCode:
        caller = CALLER.get()
        if not caller.may_select_recipes:
            log.warning("opcua_recipe_denied", user=caller.name, method=method, recipe=key)
            return ua.StatusCode(ua.UInt32(ua.StatusCodes.BadUserAccessDenied))
        recipe = self.find(key)
        try:
            if recipe is None:
                raise UnknownRecipe(int(key) if key.isdigit() else -1)
            # off the server's loop: a recipe control may take a lock the line holds for a moment
            request = functools.partial(self.book.request, recipe.number, f"opcua:{caller.name}")
            await asyncio.get_running_loop().run_in_executor(None, request)
        except UnknownRecipe as exc:
            log.warning("opcua_recipe_unknown", user=caller.name, method=method, recipe=key, error=str(exc))
            return ua.StatusCode(ua.UInt32(ua.StatusCodes.BadInvalidArgument))
        log.info("opcua_recipe_selected", user=caller.name, method=method, recipe=recipe.number)
        await self.show()
        return recipe

    async def recipe_list(self, parent: Any, external: Any = None, product: Any = None, *rest: Any) -> Any:
        """Every recipe matching the external or product id given (all when neither is)."""
        keys = {key for key in (_id_of(external), _id_of(product)) if key}
        recipes = [r for r in self.book.recipes() if not keys or keys & {str(r.number), r.name}]
        max_results = int(_value(rest[1])) if len(rest) > 1 and _value(rest[1]) else len(recipes)
        listed = [_internal(r).Value for r in recipes[:max_results]]
        return [
            ua.Variant(len(listed) == len(recipes), ua.VariantType.Boolean),
            ua.Variant(len(recipes), ua.VariantType.UInt32),
            ua.Variant(0, ua.VariantType.UInt32),  # no handle: the whole list fits in one answer
            ua.Variant(listed, ua.VariantType.ExtensionObject),
            _no_error(),
        ]


def _value(arg: Any) -> Any:
    return arg.Value if isinstance(arg, ua.Variant) else arg


def _id_of(arg: Any) -> str:
    """The Id of a RecipeId/ProductId structure (or a plain string), '' for none."""
    value = _value(arg)
    if value is None:
        return ""
    return str(getattr(value, "Id", value) or "")


def _internal(recipe: RecipeLike) -> ua.Variant:
    description = ua.LocalizedText(recipe.description or recipe.name)
    ident = GENERATED.RecipeIdInternalDataType(Id=str(recipe.number), Description=description)
    return ua.Variant(ident, ua.VariantType.ExtensionObject)


def _no_error() -> ua.Variant:
    return ua.Variant(0, ua.VariantType.Int32)
