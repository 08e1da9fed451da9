"""Config loading: YAML + environment, errors by key path, exit 2 from the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector.config.settings import InspectorConfig, load_config
from inspector.errors import ConfigError


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_empty_config_is_valid() -> None:
    assert isinstance(load_config(None), InspectorConfig)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("plc:\n  bogus: 1\n", "plc.bogus: unknown key"),
        ("nonsense_section: {}\n", "nonsense_section: unknown key"),
        ("a: [\n", "not valid YAML at line"),
        ("- 1\n- 2\n", "must hold a mapping"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert needle in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")


def test_cli_check_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("plc:\n  bogus: 1\n")
    result = run_check("--config", str(path))
    assert result.returncode == 2
    assert "plc.bogus" in result.stderr
    assert "Traceback" not in result.stderr


def every_field(model: type, prefix: str = "") -> list[tuple[str, object]]:
    from pydantic import BaseModel

    out = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        out.append((prefix + name, field))
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                out.extend(every_field(candidate, prefix + name + "."))
    return out


def test_every_config_field_is_described() -> None:
    undocumented = [path for path, field in every_field(InspectorConfig) if not field.description]  # type: ignore[attr-defined]
    assert undocumented == []


# -- environment overrides ---------------------------------------------------------------------

TWO_SOURCES = "sources:\n  - {kind: camera, uri: '0', id: top}\n  - {kind: synthetic, id: side}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "plc:\n  host: 10.0.0.1\nruntime:\n  frames_queue: {size: 3, overflow: block}\n")
    monkeypatch.setenv("INSPECTOR_PLC__HOST", "10.9.9.9")
    monkeypatch.setenv("INSPECTOR_RUNTIME__FRAMES_QUEUE__SIZE", "7")
    config = load_config(path)
    assert config.plc.host == "10.9.9.9"
    assert config.runtime.frames_queue.size == 7 and config.runtime.frames_queue.overflow.value == "block"


def test_list_entries_are_overridden_by_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, TWO_SOURCES)
    monkeypatch.setenv("INSPECTOR_SOURCES__0__URI", "rtsp://10.0.0.7/stream")
    monkeypatch.setenv("INSPECTOR_SOURCES__1__SEED", "5")
    top, side = load_config(path).sources
    assert (top.id, top.uri) == ("top", "rtsp://10.0.0.7/stream")  # type: ignore[union-attr]
    assert (side.id, side.seed) == ("side", 5)  # type: ignore[union-attr]


def test_a_list_entry_can_be_added_by_index_but_not_past_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, TWO_SOURCES)
    monkeypatch.setenv("INSPECTOR_SOURCES__2__KIND", "synthetic")
    monkeypatch.setenv("INSPECTOR_SOURCES__2__ID", "extra")
    assert [s.id for s in load_config(path).sources] == ["top", "side", "extra"]
    monkeypatch.setenv("INSPECTOR_SOURCES__4__KIND", "synthetic")
    with pytest.raises(ConfigError, match=r"sources\.4: index 4 skips entries"):
        load_config(path)


def test_a_whole_list_as_json_replaces_the_file_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_SOURCES", '[{"kind": "synthetic", "id": "only"}]')
    assert [s.id for s in load_config(write(tmp_path, TWO_SOURCES)).sources] == ["only"]


@pytest.mark.parametrize(
    ("name", "value"), [("INSPECTOR_SOURCES", "not json"), ("INSPECTOR_RUNTIME__FRAMES_QUEUE", "{bad")]
)
def test_malformed_json_variable_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_config(None)
    assert info.value.exit_code == 2
    assert f"{name}: not valid JSON" in str(info.value) and "INSPECTOR_SOURCES__0__URI" in str(info.value)


def test_malformed_json_variable_in_a_real_process(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "INSPECTOR_RUNTIME__FRAMES_QUEUE": "{bad"}
    result = run_check("--config", str(write(tmp_path, "sources:\n  - {kind: synthetic}\n")), env=env)
    assert result.returncode == 2, result.stderr
    assert "INSPECTOR_RUNTIME__FRAMES_QUEUE: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_variable_is_a_config_error(tmp_path: Path) -> None:
    import os

    env = {
        **os.environ,
        "INSPECTOR_PLC_HOST": "10.0.0.5",  # a typo of INSPECTOR_PLC__HOST: the file's PLC would be used
        "INSPECTOR_CONFIG": str(write(tmp_path, TWO_SOURCES)),
    }
    result = run_check(env=env)
    assert result.returncode == 2, result.stderr
    assert "INSPECTOR_PLC_HOST: maps to no config key" in result.stderr and "Traceback" not in result.stderr
    assert "INSPECTOR_CONFIG" not in result.stderr  # the file's own variable is no typo


def test_inspector_config_is_read_when_no_config_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from inspector.cli import main

    monkeypatch.setenv("INSPECTOR_CONFIG", str(write(tmp_path, TWO_SOURCES)))
    assert main(["check"]) == 0
    assert "config OK: 2 source(s)" in capsys.readouterr().out
    monkeypatch.setenv("INSPECTOR_CONFIG", str(tmp_path / "absent.yaml"))
    assert main(["check"]) == 2
    assert "absent.yaml does not exist" in capsys.readouterr().err


# -- YAML and bounds ---------------------------------------------------------------------------


def test_yaml_off_is_a_string_not_false(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "plc:\n  role: off\nlog:\n  format: json\nruntime:\n  log_inspections: no\n")
    )
    assert config.plc.role.value == "off"
    assert config.runtime.log_inspections is False  # 'no' still reads as false where a bool is wanted


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("sources:\n  - {kind: synthetic, seed: 4294967296}\n", "sources.0.synthetic.seed"),
        ("sources:\n  - {kind: synthetic, count: 10000000000}\n", "sources.0.synthetic.count"),
        ("runtime:\n  max_frames: 10000000000\n", "runtime.max_frames"),
    ],
)
def test_counts_and_seeds_are_bounded(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("size", ["640", "axb", "10x10", "640x480x3"])
def test_bench_size_is_validated(size: str, capsys: pytest.CaptureFixture[str]) -> None:
    from inspector.cli import main

    assert main(["bench", "--size", size]) == 2
    err = capsys.readouterr().err
    assert "--size" in err and "Traceback" not in err
