"""Recipes: named, numbered products, each overriding parts of the base config.

A recipe lists only what differs from the base settings (recipe number 0). Its ``engine`` and
``rules`` keys are laid over the base's section one key deep (a key given replaces the base's
key of that name, so ``rules: {rules: ...}`` replaces the whole rule set and ``engine: {conf:
0.4}`` only the threshold); ``preprocess`` replaces the base chain; ``cameras.<id>.preprocess``
replaces it for one camera. The merge is made on the file's raw values, before validation, so a
recipe is validated as a whole section exactly like the base and its errors name
``recipes.<name>.<section>.<key>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from inspector.engine.config import EngineConfig
from inspector.preprocess.config import PreprocessStep
from inspector.rules.config import RulesConfig
from inspector.section import Section

RecipeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
MAX_RECIPE_NUMBER = 9999  # what the PLC writes into one 16-bit register; 0 is the base config
MERGED_SECTIONS = ("engine", "rules")  # laid over the base section one key deep


class CameraRecipe(Section):
    """What a recipe changes for one camera."""

    preprocess: list[PreprocessStep] | None = Field(
        None, description="Preprocessing chain for this camera (null = the recipe's chain)."
    )


class RecipeConfig(Section):
    """One product: its number (what the PLC writes), and what differs from the base config."""

    number: int = Field(
        ge=1, le=MAX_RECIPE_NUMBER, description="Recipe number the PLC selects (1..9999; 0 = base config)."
    )
    description: str = Field("", max_length=200, description="Free text shown in recipe lists.")
    engine: EngineConfig | None = Field(
        None, description="Engine keys that differ (model, conf, iou, …), laid over the base `engine`."
    )
    preprocess: list[PreprocessStep] | None = Field(
        None, description="Preprocessing chain of this recipe (null = the base `preprocess`)."
    )
    rules: RulesConfig | None = Field(
        None,
        description="Rules keys that differ (rules, zones, calibration, measurements, …), each "
        "replacing the base `rules` key of that name.",
    )
    cameras: dict[str, CameraRecipe] = Field(
        default_factory=dict, description="Per-camera changes keyed by source id (preprocess)."
    )


def merge_recipes(data: Any) -> Any:
    """The raw config with each recipe's ``engine``/``rules`` laid over the base's raw section.

    Called before validation; anything malformed is left as it is for the validator to name."""
    if not isinstance(data, dict) or not isinstance(data.get("recipes"), dict):
        return data
    recipes = {}
    for name, recipe in data["recipes"].items():
        if isinstance(recipe, dict):
            recipe = dict(recipe)
            for section in MERGED_SECTIONS:
                override, base = recipe.get(section), data.get(section, {})
                if isinstance(override, dict) and isinstance(base, dict):
                    recipe[section] = {**_raw(base), **override}
        recipes[name] = recipe
    return {**data, "recipes": recipes}


def _raw(section: Any) -> dict[str, Any]:
    """A base section as raw values (it may already be a model when built in code)."""
    if isinstance(section, Section):
        return section.model_dump(exclude_unset=True)
    return dict(section)


def number_problems(recipes: dict[str, RecipeConfig]) -> list[str]:
    """Recipe numbers are unique (one number, one product)."""
    seen: dict[int, str] = {}
    problems = []
    for name, recipe in recipes.items():
        if recipe.number in seen:
            problems.append(
                f"recipes.{name}.number: {recipe.number} is already recipe {seen[recipe.number]!r}"
            )
        seen.setdefault(recipe.number, name)
    return problems


@dataclass(frozen=True)
class RecipeView:
    """One recipe as the line runs it: every section resolved (the base's where it says nothing)."""

    number: int
    name: str
    description: str
    engine: EngineConfig
    preprocess: tuple[PreprocessStep, ...]
    rules: RulesConfig
    camera_preprocess: dict[str, tuple[PreprocessStep, ...]]  # source id -> its own chain

    def preprocess_for(self, source_id: str) -> tuple[PreprocessStep, ...]:
        return self.camera_preprocess.get(source_id, self.preprocess)


BASE_NAME = "base"  # the name recipe 0 (the config's own settings) is listed by


def recipe_views(
    engine: EngineConfig,
    preprocess: list[PreprocessStep],
    rules: RulesConfig,
    recipes: dict[str, RecipeConfig],
) -> list[RecipeView]:
    """Recipe 0 (the base settings) first, then each recipe by number."""
    views = [RecipeView(0, BASE_NAME, "the base settings", engine, tuple(preprocess), rules, {})]
    for name, recipe in sorted(recipes.items(), key=lambda item: item[1].number):
        chain = tuple(preprocess if recipe.preprocess is None else recipe.preprocess)
        cameras = {
            source: tuple(camera.preprocess)
            for source, camera in recipe.cameras.items()
            if camera.preprocess is not None
        }
        views.append(
            RecipeView(
                recipe.number,
                name,
                recipe.description,
                recipe.engine or engine,
                chain,
                recipe.rules or rules,
                cameras,
            )
        )
    return views
