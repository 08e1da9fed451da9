"""A rule that can never see its classes is a config error at `check` (the model's names read
without torch) and at `run`: a class the model lacks, or one engine.classes filters out."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.config.checks import NAMES_AT_RUN, check_line
from inspector.config.settings import load_config
from inspector.errors import ConfigError

SYNTH = "sources:\n  - {kind: synthetic, id: cam0}\n"
# the demo model's classes: 0 good_joint, 1 solder_bridge, 2 insufficient_solder, 3 excess, 4 missing
BRIDGE = "rules:\n  rules:\n    bridge: {kind: presence, code: 3, classes: [solder_bridge]}\n"
MISSING = "rules:\n  rules:\n    absent: {kind: count, code: 4, classes: [missing_joint], count: {eq: 0}}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            SYNTH + "engine:\n  classes: [0]\n" + BRIDGE,
            "rules.rules.bridge.presence.classes: class 'solder_bridge' (id 1) is dropped by engine.classes",
        ),
        (
            SYNTH + "engine:\n  classes: [0, 1]\n" + MISSING,
            "rules.rules.absent.count.classes: class 'missing_joint' (id 4) is dropped by engine.classes",
        ),
        (
            SYNTH + "rules:\n  rules:\n    s: {kind: presence, code: 3, classes: [scratch]}\n",
            "rules.rules.s.presence.classes: unknown class 'scratch'",
        ),
        (SYNTH + "engine:\n  classes: [1, 7]\n", "engine.classes: [7] not in 0..4"),
    ],
)
def test_check_and_run_refuse_a_rule_that_cannot_see_its_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    path = write(tmp_path, text)
    for command in ("check", "run"):  # run refuses before loading torch or the model
        assert main([command, "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err


def test_a_filter_that_keeps_the_rules_classes_passes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SYNTH + "engine:\n  classes: [1]\n" + BRIDGE))
    covered = check_line(config)
    assert covered.model_names is not None and covered.model_names[1] == "solder_bridge"
    assert covered.notes == ()


def test_a_users_checkpoint_is_read_for_names(tmp_path: Path, tiny_seg_checkpoint: Path) -> None:
    text = SYNTH + f"engine:\n  model: {tiny_seg_checkpoint}\n  classes: [2]\n" + BRIDGE
    with pytest.raises(ConfigError) as caught:
        check_line(load_config(write(tmp_path, text)))
    assert "keeps 2 (insufficient_solder)" in str(caught.value)


def test_names_that_cannot_be_read_are_left_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.pt"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("model/version", "3")  # a zip, but no metadata we can read
    path = write(tmp_path, SYNTH + f"engine:\n  model: {model}\n" + BRIDGE)
    assert main(["check", "--config", str(path)]) == 0
    assert NAMES_AT_RUN in capsys.readouterr().out
