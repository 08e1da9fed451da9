"""`inspector run` and `inspector check` refuse the same bad configuration before starting anything:
exit 2, every error by key path, no traceback; `check` never imports torch or OpenCV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli import main

BAD_CONFIGS = [
    ("runtime:\n  bogus: 1\n", "runtime.bogus: unknown key"),
    ("runtime:\n  batch_size: many\n", "runtime.batch_size"),
    ("runtime:\n  batch_size: 0\n", "runtime.batch_size"),
    ("runtime:\n  frames_queue: {size: 4, overflow: sideways}\n", "runtime.frames_queue.overflow"),
    ("runtime:\n  shutdown_deadline_s: -1\n", "runtime.shutdown_deadline_s"),
    ("runtime:\n  stats_interval_s: 0\n", "runtime.stats_interval_s"),
    ("sources:\n  - kind: folder\n", "sources.0.folder.path"),
    ("sources:\n  - kind: webcam\n    uri: '0'\n", "sources.0"),
    ("sources:\n  - {kind: camera, uri: '0', fps_limit: 0}\n", "sources.0.camera.fps_limit"),
    ("sources:\n  - {kind: camera, uri: '0', id: 'has space'}\n", "sources.0.camera.id"),
    ("sources:\n  - {kind: synthetic, reconnect_initial_s: 9, reconnect_max_s: 1}\n", "sources.0.synthetic"),
    ("preprocess:\n  - {step: denoise, ksize: 4}\n", "preprocess.0.denoise"),
    ("preprocess:\n  - {step: roi, x: 0, y: 0}\n", "preprocess.0.roi.width"),
    ("preprocess:\n  - {step: white_balance, gains: [1, 1]}\n", "preprocess.0.white_balance.gains"),
    ("sources: [\n", "not valid YAML at line"),
    ("just a string\n", "must hold a mapping"),
    ("sources: []\n", "sources: at least one source is needed"),
    (
        "sources:\n  - {kind: synthetic, id: a}\n  - {kind: synthetic, id: a}\n",
        "sources.1.id: duplicate source id",
    ),
]


SYNTH = "sources:\n  - {kind: synthetic, id: cam0}\n"
# Not schema errors: line checks across sections (inspector.config.checks), once failing only at run.
LINE_CONFIGS = [
    (
        SYNTH + "rules:\n  rules:\n    bridge: {kind: presence, code: 3, classes: [x], sources: [cam9]}\n",
        "rules.rules.bridge.presence.sources: unknown source 'cam9'",
    ),
    (
        SYNTH + "rules:\n  calibration:\n    cameras:\n      top: {px_per_mm: 9}\n",
        "rules.calibration.cameras.top",
    ),
    (
        SYNTH + "  - {kind: synthetic, id: cam1}\nrules:\n  calibration: {cameras: {cam0: {px_per_mm: 9}}}\n"
        "  rules:\n    small: {kind: instance, code: 2, classes: [x], area_mm2: {lt: 0.3}}\n",
        "rules.calibration.cameras.cam1: rule 'small' uses area_mm2",
    ),
    (SYNTH + "engine:\n  model: /nonexistent/best.pt\n", "engine.model: model file /nonexistent/best.pt"),
    (SYNTH + "plc:\n  mode: triggered\n", "plc.mode: triggered needs plc.role"),
]
ALL_BAD = BAD_CONFIGS + LINE_CONFIGS


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=120, env=full_env
    )


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize(("text", "needle"), ALL_BAD)
def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main([command, "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "needle"), [BAD_CONFIGS[0], BAD_CONFIGS[14], BAD_CONFIGS[16], *LINE_CONFIGS[::2]]
)
def test_check_in_a_real_process_exits_2(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_cli("check", "--config", str(path))
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_check_lists_every_error_and_run_agrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "sources:\n  - {kind: synthetic, id: a}\n  - {kind: synthetic, id: a}\n"
        "engine:\n  model: missing.pt\n"
        "rules:\n  rules:\n    bridge: {kind: presence, code: 3, classes: [x], sources: [cam9]}\n"
    )
    errors = []
    for command in ("check", "run"):
        assert main([command, "--config", str(path)]) == 2
        errors.append(capsys.readouterr().err.split("\n", 1)[1])  # after "inspector CMD: error: ..."
    assert errors[0] == errors[1]
    for needle in ("sources.1.id", "engine.model", "rules.rules.bridge.presence.sources"):
        assert needle in errors[0]


def test_check_passes_a_good_config_without_importing_torch_or_opencv(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(SYNTH)
    code = (
        "import sys; from inspector.cli import main; rc = main(['check', '--config', sys.argv[1]]); "
        "print('heavy:', sorted(m for m in ('torch', 'cv2', 'ultralytics') if m in sys.modules)); "
        "sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "config OK: 1 source(s)" in result.stdout and "heavy: []" in result.stdout


def test_bad_config_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("runtime:\n  frames_queue: {size: 0}\n")
    result = run_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert "runtime.frames_queue.size" in result.stderr and "Traceback" not in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_environment_override_is_validated_too(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("sources:\n  - {kind: synthetic}\n")
    result = run_cli("run", "--config", str(path), env={"INSPECTOR_RUNTIME__BATCH_SIZE": "999"})
    assert (
        result.returncode == 2 and "runtime.batch_size" in result.stderr and "Traceback" not in result.stderr
    )


def _without_inspector_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("INSPECTOR_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize("command", ["run", "check"])
def test_no_config_at_all_says_so(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without_inspector_env(monkeypatch)
    code = main([command])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no config given: pass --config FILE" in err and "INSPECTOR_CONFIG=FILE" in err
    assert "sources" not in err and "Traceback" not in err


def test_the_environment_alone_is_a_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without_inspector_env(monkeypatch)
    monkeypatch.setenv("INSPECTOR_SOURCES", '[{"kind": "synthetic", "id": "cam0"}]')
    assert main(["check"]) == 0
    assert "config OK: 1 source(s)" in capsys.readouterr().out
    monkeypatch.setenv("INSPECTOR_RUNTIME__BATCH_SIZE", "0")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "no config file given" in err and "environment alone is not a valid config" in err
    assert "runtime.batch_size" in err and "Traceback" not in err
