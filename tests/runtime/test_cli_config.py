"""`inspector run` refuses bad configuration before starting anything: exit 2, key path, no traceback."""

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


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=120, env=full_env
    )


@pytest.mark.parametrize(("text", "needle"), BAD_CONFIGS)
def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main(["run", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and "Traceback" not in err


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
