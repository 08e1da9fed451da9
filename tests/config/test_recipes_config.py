"""Recipes in the config: laid over the base settings, validated like them, refused by
``check`` and ``run`` with exit 2 naming the recipe and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.cli import main
from inspector.config.settings import InspectorConfig
from tests.cli.test_cli_config import run_cli

SYNTH = "sources:\n  - {kind: synthetic, id: cam0}\n"
BASE_RULES = "rules:\n  rules:\n    bridge: {kind: presence, code: 1, classes: [solder_bridge]}\n"

BAD_RECIPES = [
    ("recipes:\n  a: {number: 1, engine: {conf: 2}}\n", "recipes.a.engine.conf"),
    ("recipes:\n  a: {number: 0}\n", "recipes.a.number"),
    ("recipes:\n  a: {number: 1, bogus: 3}\n", "recipes.a.bogus: unknown key"),
    ("recipes:\n  a: {number: 1, engine: {modle: x.pt}}\n", "recipes.a.engine.modle: unknown key"),
    ("recipes:\n  a: {number: 1, preprocess: [{step: gamma, gamma: 99}]}\n", "recipes.a.preprocess.0.gamma"),
    ("recipes:\n  a: {number: 1}\n  b: {number: 1}\n", "recipes.b.number: 1 is already recipe 'a'"),
    ("recipes:\n  '9x': {number: 1}\n", "recipes.9x"),
    (
        "recipes:\n  a: {number: 2, rules: {rules: {x: {kind: presence, code: 1, classes: [nope]}}}}\n",
        "recipes.a.rules.rules.x.presence.classes: unknown class 'nope'",
    ),
    (
        "recipes:\n  a: {number: 2, engine: {model: /nonexistent/b.pt}}\n",
        "recipes.a.engine.model: model file",
    ),
    ("recipes:\n  a: {number: 2, cameras: {cam9: {preprocess: []}}}\n", "recipes.a.cameras.cam9: no source"),
    (
        "recipes:\n  a: {number: 2, rules: {rules: {x: {kind: instance, code: 2, classes: [good_joint], "
        "area_mm2: {lt: 1}}}}}\n",
        "recipes.a.rules",  # an mm rule without a calibration (the base has none either)
    ),
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("text", "needle"), BAD_RECIPES)
def test_a_bad_recipe_exits_2_naming_the_recipe_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SYNTH + BASE_RULES + text)
    assert main([command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err


def test_check_in_a_real_process_refuses_a_bad_recipe(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SYNTH + BAD_RECIPES[0][0])
    result = run_cli("check", "--config", str(path))
    assert result.returncode == 2 and "recipes.a.engine.conf" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_recipe_says_only_what_differs() -> None:
    config = InspectorConfig(
        sources=[{"kind": "synthetic", "id": "cam0"}],
        engine={"conf": 0.3, "iou": 0.6},
        preprocess=[{"step": "gamma", "gamma": 1.5}],
        rules={
            "calibration": {"px_per_mm": 10},
            "rules": {"bridge": {"kind": "presence", "code": 1, "classes": ["solder_bridge"]}},
        },
        recipes={
            "b": {"number": 2, "engine": {"conf": 0.5}, "rules": {"rules": {}}},
            "a": {"number": 1, "preprocess": [], "cameras": {"cam0": {"preprocess": [{"step": "clahe"}]}}},
        },
    )
    base, a, b = config.recipe_views()
    assert [v.number for v in (base, a, b)] == [0, 1, 2] and base.name == "base"
    assert (b.engine.conf, b.engine.iou) == (0.5, 0.6)  # one key replaced, the rest the base's
    assert b.rules.rules == {} and b.rules.calibration.px_per_mm == 10
    assert b.preprocess == base.preprocess and len(base.preprocess) == 1
    assert a.engine == base.engine and a.preprocess == () and a.rules == base.rules
    assert [s.step for s in a.preprocess_for("cam0")] == ["clahe"] and a.preprocess_for("cam1") == ()


def test_check_passes_good_recipes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(SYNTH + BASE_RULES + "recipes:\n  a: {number: 1, engine: {conf: 0.6}}\n")
    assert main(["check", "--config", str(path)]) == 0, capsys.readouterr().err
    assert "config OK: 1 source(s), recipes 0 base, 1 a" in capsys.readouterr().out


def test_line_example_shows_every_recipe_key() -> None:
    import yaml

    from inspector.config.recipes import CameraRecipe, RecipeConfig

    example = Path(__file__).resolve().parents[2] / "config" / "line-example.yaml"
    recipes = yaml.safe_load(example.read_text())["recipes"]
    assert set().union(*(set(r) for r in recipes.values())) == set(RecipeConfig.model_fields)
    cameras = [c for r in recipes.values() for c in r.get("cameras", {}).values()]
    assert set().union(*(set(c) for c in cameras)) == set(CameraRecipe.model_fields)
