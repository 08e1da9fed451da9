"""The import rules between the package's rooms (README "How the code is laid out"), read from
the source with ``ast``: nothing is imported, so the test sees every import, also those inside
functions and ``TYPE_CHECKING`` blocks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "inspector"

GROUND = {"errors", "messages", "logging", "section", "lazy"}  # import nothing of ours but each other
STAGES = {"sources", "preprocess", "engine", "rules", "plc", "archive", "opcua"}
TOOLS = {"synth", "models"}  # the board generator and the shipped model files: ground floor only
LEAVES = {"health", "watchdog"}
# watchdog may use health's small value types; health imports nothing of watchdog
WATCHDOG_FROM_HEALTH = {"inspector.health.state", "inspector.health.metrics"}
# the operator page: served by health's HTTP server, draws with the archive's overlay; app builds it
WEB_USES = {"health", "archive"}

# Edges that break a rule on purpose, each with its reason (importer, imported module).
EXCEPTIONS = {
    ("inspector.config.checks", "inspector.rules.checks"): "the config check runs the rules' own "
    "static checks (rules naming unknown cameras) without building the rules",
    ("inspector.config.checks", "inspector.engine.metadata"): "the config check reads the model "
    "file's class names (without torch) to refuse rules that could never fire",
    ("inspector.sources.synthetic", "inspector.synth"): "the synthetic camera renders PCB boards "
    "with the dataset generator",
}


def room_of(module: str) -> str:
    """``inspector.plc.output`` -> ``plc``; a ground-floor module -> ``ground``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "init"
    name = parts[1]
    if name in GROUND:
        return "ground"
    return "main" if name == "__main__" else name


def is_config_module(module: str) -> bool:
    """A stage's (or the runtime's) own config section, which ``config/`` assembles."""
    parts = module.split(".")
    return len(parts) == 3 and parts[2] == "config" and parts[1] != "config"


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[str]:
    """The ``inspector`` modules ``module`` imports (``from inspector.x import y`` counts as
    ``inspector.x.y`` when that is a module, else ``inspector.x``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [
                f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base for alias in node.names
            ]
        else:
            continue
        yield from (name for name in names if name == "inspector" or name.startswith("inspector."))


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def allowed(importer: str, imported: str) -> bool:
    src, dst = room_of(importer), room_of(imported)
    if dst in ("ground", src):
        return True
    if src in STAGES | TOOLS | {"ground", "health"}:
        return False
    if src == "watchdog":
        return imported in WATCHDOG_FROM_HEALTH
    if src == "web":
        return dst in WEB_USES
    if src == "config":
        return is_config_module(imported)
    if src == "app":
        return dst not in ("cli", "main", "init")
    return src in ("cli", "main", "init")  # the top: cli drives app and config


def edges() -> list[tuple[str, str]]:
    return [(module, imported) for module, path in modules() for imported in imports(module, path)]


def test_every_import_keeps_to_the_room_rules() -> None:
    broken = [
        f"{importer} imports {imported}"
        for importer, imported in edges()
        if not allowed(importer, imported) and (importer, imported) not in EXCEPTIONS
    ]
    assert broken == []


def test_stage_config_sections_import_only_the_ground_floor_and_their_own_room() -> None:
    broken = [
        f"{importer} imports {imported}"
        for importer, imported in edges()
        if is_config_module(importer) and room_of(imported) not in ("ground", room_of(importer))
    ]
    assert broken == []


def test_no_cycle_between_rooms() -> None:
    # config/ reading a room's config section is not an edge into that room (see the test above)
    graph: dict[str, set[str]] = {}
    for importer, imported in edges():
        src, dst = room_of(importer), room_of(imported)
        if src != dst and not (src == "config" and is_config_module(imported)):
            graph.setdefault(src, set()).add(dst)
    assert find_cycle(graph) is None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def test_the_exceptions_are_still_needed() -> None:
    stale = set(EXCEPTIONS) - set(edges())
    assert stale == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_the_rules_refuse_what_the_layout_forbids() -> None:
    assert not allowed("inspector.health.service", "inspector.watchdog.oom")  # leaves: one way only
    assert not allowed("inspector.watchdog.oom", "inspector.health.service")  # value types only
    assert not allowed("inspector.sources.reader", "inspector.app.line")  # stages: ground floor only
    assert not allowed("inspector.rules.verdicts", "inspector.engine.engine")
    assert not allowed("inspector.config.settings", "inspector.app.compose")  # config sections only
    assert not allowed("inspector.app.compose", "inspector.cli.run")
    assert not allowed("inspector.web.routes", "inspector.app.line")  # the page sees the line via app
    assert not allowed("inspector.health.http", "inspector.web.routes")  # health serves it unaware
    assert allowed("inspector.web.gallery", "inspector.archive.picture")
    assert allowed("inspector.app.web_view", "inspector.web.output")
    assert allowed("inspector.config.settings", "inspector.plc.config")
    assert allowed("inspector.app.compose", "inspector.plc.output")
    assert len(edges()) > 200  # the walk sees the package's imports


def test_no_cycle_between_the_modules_of_app_and_the_leaves() -> None:
    rooms = {"app", "health", "watchdog", "archive"}
    graph: dict[str, set[str]] = {}
    for importer, imported in edges():
        if importer != imported and room_of(importer) in rooms and room_of(imported) in rooms:
            graph.setdefault(importer, set()).add(imported)
    assert find_cycle(graph) is None
