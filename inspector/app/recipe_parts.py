"""What one recipe runs with (engine, preprocessing chains, rules), built for every recipe at once.

Every recipe's model is loaded (and warmed up) when the line is built, so a switch is instant.
Recipes share what they can: an engine config seen before is the same engine, and one that
differs from a loaded one only in post-processing keys (``SHARED_NETWORK_KEYS``: thresholds,
class filter, prompt) runs on the same network, so a threshold-only recipe costs no memory and no
load time. Rules with the same config are the same verdict maker (its history windows carry on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from inspector.app.interfaces import CheckedRules, InferenceEngine, RecipeEntry, VerdictMaker
from inspector.config.recipes import RecipeView
from inspector.config.settings import InspectorConfig
from inspector.engine import load_engine
from inspector.engine.config import EngineConfig
from inspector.engine.engine import Engine
from inspector.engine.refine import with_refinement
from inspector.errors import ConfigError, ModelError
from inspector.preprocess import Chain
from inspector.rules import build_verdicts
from inspector.rules.config import RulesConfig

# Engine keys applied after the network: recipes that differ only in these share one network.
SHARED_NETWORK_KEYS = frozenset({"conf", "iou", "max_det", "classes", "agnostic_nms", "prompt", "warmup"})

EngineFactory = Callable[[EngineConfig], InferenceEngine]


@dataclass(frozen=True, eq=False)
class RecipeParts:
    """One recipe's engine, chains and rules, as the stages look them up by a part's recipe."""

    entry: RecipeEntry
    engine: InferenceEngine
    chain: Chain
    rules: VerdictMaker
    camera_chains: Mapping[str, Chain] = field(default_factory=dict)

    def chain_for(self, source_id: str) -> Chain:
        return self.camera_chains.get(source_id, self.chain)


class RecipeBook:
    """The parts of every recipe of one config, by number (0 = the base settings)."""

    def __init__(self, parts: Sequence[RecipeParts]) -> None:
        self.parts = {p.entry.number: p for p in parts}

    @property
    def base(self) -> RecipeParts:
        return self.parts[0]

    def entries(self) -> list[RecipeEntry]:
        return [p.entry for p in self.parts.values()]

    def __contains__(self, number: object) -> bool:
        return number in self.parts

    def get(self, number: int) -> RecipeParts | None:
        return self.parts.get(number)


class RecipeFactory:
    """Builds the book of a config; keeps what it built so a reload reuses unchanged parts."""

    def __init__(
        self,
        engine: InferenceEngine | None = None,
        rules: VerdictMaker | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self._given_engine = engine
        self._given_rules = rules
        self._engine_factory = engine_factory
        self._engines: dict[str, InferenceEngine] = {}
        self._rules: dict[str, VerdictMaker] = {}

    def book(self, config: InspectorConfig) -> RecipeBook:
        """Every recipe's parts; a ConfigError or ModelError names the recipe it comes from."""
        return RecipeBook([self._recipe(config, view) for view in config.recipe_views()])

    def _recipe(self, config: InspectorConfig, view: RecipeView) -> RecipeParts:
        prefix = "" if view.number == 0 else f"recipes.{view.name}."
        try:
            engine = self.engine(view.engine)
            rules = self.rules(view.rules, engine.names, view.engine, [s.id for s in config.sources])
        except ConfigError as exc:
            if not prefix:
                raise
            problems = tuple((prefix + path, why) for path, why in exc.problems)
            why = f"recipe {view.name!r} (number {view.number}): {exc.args[0]}"
            raise ConfigError(why, problems) from None
        except ModelError as exc:
            if not prefix:
                raise
            raise type(exc)(f"recipe {view.name!r} ({prefix}engine.model): {exc}") from None
        cameras = {source: Chain.from_config(steps) for source, steps in view.camera_preprocess.items()}
        entry = RecipeEntry(view.number, view.name, view.description)
        return RecipeParts(entry, engine, Chain.from_config(view.preprocess), rules, cameras)

    def engine(self, config: EngineConfig) -> InferenceEngine:
        """The engine of ``config``: the one given, one built before, or a new one (loaded now);
        wrapped with SAM refinement where ``engine.refine`` asks for it."""
        if self._given_engine is not None and config.refine is None:
            return self._given_engine
        key = config.model_dump_json()
        if key in self._engines:
            return self._engines[key]
        if self._given_engine is not None:
            engine = self._given_engine
        elif self._engine_factory is not None:
            engine = self._engine_factory(config)
        else:
            engine = self._sharing(config) or load_engine(config)
        engine = with_refinement(engine, config.refine)
        self._engines[key] = engine
        return engine

    def _sharing(self, config: EngineConfig) -> Engine | None:
        """An engine on the network of a loaded one that differs only in post-processing keys."""
        wanted = network_key(config)
        for engine in self._engines.values():
            if isinstance(engine, Engine) and network_key(engine.config) == wanted:
                shared = Engine(engine.network, config)
                shared.warmup_ms = engine.warmup_ms
                return shared
        return None

    def rules(
        self, config: RulesConfig, names: Sequence[str], engine: EngineConfig, sources: Sequence[str]
    ) -> VerdictMaker:
        """The verdict maker of ``config``, checked against the model's names and the cameras."""
        rules = self._given_rules
        if rules is None:
            key = config.model_dump_json()
            rules = self._rules.get(key) or build_verdicts(config)
            self._rules[key] = rules
        if isinstance(rules, CheckedRules):
            rules.check_names(tuple(names), engine.classes)
            rules.check_sources(sources)
        return rules

    def forget_unused(self, books: Sequence[RecipeBook]) -> None:
        """Drop what no book in use holds any more (a reload replaced it), so its memory goes."""
        engines = {id(p.engine) for book in books for p in book.parts.values()}
        rules = {id(p.rules) for book in books for p in book.parts.values()}
        self._engines = {k: e for k, e in self._engines.items() if id(e) in engines}
        self._rules = {k: r for k, r in self._rules.items() if id(r) in rules}


def network_key(config: EngineConfig) -> str:
    return config.model_dump_json(exclude=set(SHARED_NETWORK_KEYS))
