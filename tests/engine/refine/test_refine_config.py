"""``engine.refine``: the section's bounds, and the example config showing every key of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from inspector.config.checks import line_problems
from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.engine.refine import RefineConfig

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "line-example.yaml"


def commented_refine_example() -> dict[str, object]:
    """The commented ``refine:`` block of the example config, as YAML."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("  #   refine:")
    end = lines.index("  refine: null")
    return yaml.safe_load("\n".join(line.removeprefix("  # ") for line in lines[start:end]))["refine"]


def test_the_example_shows_every_key_and_is_valid() -> None:
    example = commented_refine_example()
    assert set(example) == set(RefineConfig.model_fields)
    assert all(field.description for field in RefineConfig.model_fields.values())
    config = EngineConfig(refine=example)
    assert config.refine is not None and config.refine.max_parts == 8


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"classes": []}, "classes"),
        ({"max_parts": 0}, "max_parts"),
        ({"backend": "tensorrt"}, "backend"),
        ({"stride": 2}, "stride"),
    ],
)
def test_bad_values_name_their_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EngineConfig(refine={"model": "sam", "classes": ["a"], **change})
    assert key in str(caught.value)


def test_check_refuses_classes_the_model_lacks_and_a_missing_pair(tmp_path: Path) -> None:
    """``inspector check``: refined classes against the model file's names, as rules are; the
    pair's folder must exist."""
    config = InspectorConfig(engine={"refine": {"model": tmp_path, "classes": ["solder_bridge", "scratch"]}})
    problems, _ = line_problems(config)
    assert [key for key, _ in problems if key.startswith("engine.refine")] == ["engine.refine.classes.1"]
    config = InspectorConfig(engine={"refine": {"model": tmp_path / "nosuch", "classes": ["solder_bridge"]}})
    problems, _ = line_problems(config)
    assert [key for key, _ in problems if key.startswith("engine.refine")] == ["engine.refine.model"]
