"""Bad-input sweep of config files and environment overrides, as a line integrator would make them.

Every malformed config makes ``inspector check`` and ``inspector run`` exit 2 with one header
line and one line per error naming the key path (or the file, or the variable), and never a
traceback. Most cases run in-process through the CLI entry (fast); a few in real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli import main

LINE = "sources:\n  - {kind: synthetic, id: cam0}\n"  # a valid line the bad parts are added to


def case(case_id: str, content: str | bytes, needle: str) -> object:
    return pytest.param(content, needle, id=case_id)


UNKNOWN_KEYS = [
    case("top", LINE + "bogus: 1\n", "bogus: unknown key"),
    case(
        "sources.0", "sources:\n  - {kind: synthetic, bogus: 1}\n", "sources.0.synthetic.bogus: unknown key"
    ),
    case(
        "sources.1", LINE + "  - {kind: camera, id: c1, uri: '0', fps: 5}\n", "sources.1.camera.fps: unknown"
    ),
    case(
        "sources.folder",
        "sources:\n  - {kind: folder, path: /tmp, recursive: 1}\n",
        "sources.0.folder.recursive",
    ),
    case(
        "preprocess.0",
        LINE + "preprocess:\n  - {step: roi, width: 9, height: 9, z: 1}\n",
        "preprocess.0.roi.z",
    ),
    case("engine", LINE + "engine: {modle: x.pt}\n", "engine.modle: unknown key"),
    case("rules", LINE + "rules: {rulez: {}}\n", "rules.rulez: unknown key"),
    case(
        "rules.calibration",
        LINE + "rules: {calibration: {px_per_mm: 3, k: 1}}\n",
        "rules.calibration.k: unknown",
    ),
    case(
        "rules.calibration.cameras",
        LINE + "rules: {calibration: {cameras: {cam0: {px_per_mm: 3, k1: 0}}}}\n",
        "rules.calibration.cameras.cam0.k1: unknown key",
    ),
    case(
        "rules.zones",
        LINE + "rules: {zones: {z: {polygon: [[0, 0], [1, 0], [1, 1]], closed: true}}}\n",
        "rules.zones.z.closed: unknown key",
    ),
    case(
        "rules.rules",
        LINE + "rules:\n  rules:\n    r1: {kind: presence, code: 3, classes: [b], severity: 2}\n",
        "rules.rules.r1.presence.severity: unknown key",
    ),
    case(
        "rules.rules.condition",
        LINE
        + "rules:\n  rules:\n    r1: {kind: instance, code: 3, classes: [b], area_px: {lt: 3, below: 4}}\n",
        "rules.rules.r1.instance.area_px.below: unknown key",
    ),
    case("plc", LINE + "plc: {hots: 10.0.0.5}\n", "plc.hots: unknown key"),
    case("plc.serial", LINE + "plc: {serial: {baud: 9600}}\n", "plc.serial.baud: unknown key"),
    case("plc.server", LINE + "plc: {server: {address: 0.0.0.0}}\n", "plc.server.address: unknown key"),
    case("plc.registers", LINE + "plc: {registers: {trigger: 3}}\n", "plc.registers.trigger: unknown key"),
    case("plc.pulses", LINE + "plc: {pulses: {late: 100}}\n", "plc.pulses.late: unknown key"),
    case("plc.handshake", LINE + "plc: {handshake: {timeout_ms: 9}}\n", "plc.handshake.timeout_ms: unknown"),
    case("plc.heartbeat", LINE + "plc: {heartbeat: {period: 100}}\n", "plc.heartbeat.period: unknown key"),
    case("plc.failsafe", LINE + "plc: {failsafe: {code: 900}}\n", "plc.failsafe.code: unknown key"),
    case("runtime", LINE + "runtime: {batch: 2}\n", "runtime.batch: unknown key"),
    case("runtime.queue", LINE + "runtime: {frames_queue: {policy: block}}\n", "runtime.frames_queue.policy"),
    case("log", LINE + "log: {file: /tmp/x.log}\n", "log.file: unknown key"),
    case("watchdog", LINE + "watchdog: {rss_limit: 3}\n", "watchdog.rss_limit: unknown key"),
    case("watchdog.oom", LINE + "watchdog: {oom: {retries: 3}}\n", "watchdog.oom.retries: unknown key"),
    case("health", LINE + "health: {port: 9}\n", "health.port: unknown key"),
    case("archive", LINE + "archive: {path: /tmp}\n", "archive.path: unknown key"),
    case("number-as-section", LINE + "1: x\n", "1: unknown key"),
    case("null-as-section", LINE + "~: 1\n", "None: unknown key"),
]

WRONG_TYPES = [
    case("plc.port-text", LINE + "plc: {port: abc}\n", "plc.port: Input should be a valid integer"),
    case("late_ms-text", LINE + "plc: {pulses: {late_ms: soon}}\n", "plc.pulses.late_ms: Input should be"),
    case("conf-list", LINE + "engine: {conf: [1]}\n", "engine.conf: Input should be a valid number"),
    case("sources-mapping", "sources: {kind: synthetic}\n", "sources: Input should be a valid list"),
    case("sources-scalar", "sources: cam0\n", "sources: Input should be a valid list"),
    case(
        "sources.0-scalar",
        "sources: [cam0]\n",
        "sources.0: should be a section of keys (key: value), not str",
    ),
    case("plc-number", LINE + "plc: 5\n", "plc: should be a section of keys (key: value), not int 5"),
    case("plc-list", LINE + "plc: [1, 2]\n", "plc: should be a section of keys (key: value), not a list"),
    case("queue-number", LINE + "runtime: {frames_queue: 4}\n", "runtime.frames_queue: should be a section"),
    case(
        "classes-text", LINE + "engine: {classes: '1,2'}\n", "engine.classes: Input should be a valid tuple"
    ),
    case("log.level", LINE + "log: {level: loud}\n", "log.level: Input should be 'debug'"),
    case(
        "archive.dir-list",
        LINE + "archive: {dir: [a, b]}\n",
        "archive.dir: should be a file path, not a list",
    ),
    case(
        "engine.model-number", LINE + "engine: {model: 5}\n", "engine.model: should be a file path, not int 5"
    ),
    case("health.http", LINE + "health: {http: maybe}\n", "health.http: Input should be a valid boolean"),
    case("seed-date", "sources:\n  - {kind: synthetic, seed: 2024-01-01}\n", "sources.0.synthetic.seed"),
    case(
        "id-number", "sources:\n  - {kind: synthetic, id: 7}\n", "sources.0.synthetic.id: Input should be a"
    ),
    case(
        "code-fraction",
        LINE + "rules:\n  rules:\n    r1: {kind: presence, code: 3.5, classes: [b]}\n",
        "rules.rules.r1.presence.code: Input should be a valid integer",
    ),
    case(
        "zone-name-number",
        LINE + "rules: {zones: {1: {polygon: [[0, 0], [1, 0], [1, 1]]}}}\n",
        "rules.zones.1: the key should be a name",
    ),
    case("unknown-kind", "sources:\n  - {kind: webcam, uri: '0'}\n", "sources.0: Input tag 'webcam'"),
]

NOT_FINITE = [
    case("conf-nan", LINE + "engine: {conf: .nan}\n", "engine.conf: Input should be a finite number"),
    case(
        "fps-inf",
        "sources:\n  - {kind: synthetic, fps_limit: .inf}\n",
        "sources.0.synthetic.fps_limit: Input",
    ),
    case(
        "wait-inf",
        LINE + "runtime: {batch_max_wait_ms: .inf}\n",
        "runtime.batch_max_wait_ms: Input should be a",
    ),
    case(
        "poll-neg-inf",
        LINE + "runtime: {poll_timeout_s: -.inf}\n",
        "runtime.poll_timeout_s: Input should be a",
    ),
    case(
        "gain-nan",
        LINE + "preprocess:\n  - {step: white_balance, gains: [.nan, 1, 1]}\n",
        "preprocess.0.white_balance.gains.0: Input should be a finite number",
    ),
    case("px_per_mm-nan", LINE + "rules: {calibration: {px_per_mm: .nan}}\n", "rules.calibration.px_per_mm"),
    case(
        "late_ms-nan",
        LINE + "plc: {pulses: {late_ms: .nan}}\n",
        "plc.pulses.late_ms: Input should be a finite",
    ),
    case(
        "pulse_s-nan",
        LINE + "health: {watchdog_pulse_s: .nan}\n",
        "health.watchdog_pulse_s: Input should be a",
    ),
    case(
        "alpha-nan",
        LINE + "archive: {overlay_alpha: .nan}\n",
        "archive.overlay_alpha: Input should be a finite",
    ),
    case(
        "rule-limit-nan",
        LINE + "rules:\n  rules:\n    r1: {kind: instance, code: 3, classes: [b], area_px: {lt: .nan}}\n",
        "rules.rules.r1.instance.area_px.lt: Input should be a finite number",
    ),
]

OUT_OF_BOUNDS = [
    case(
        "queue-size",
        LINE + "runtime: {frames_queue: {size: -1}}\n",
        "runtime.frames_queue.size: Input should be",
    ),
    case("quota", LINE + "archive: {quota_mib: -5}\n", "archive.quota_mib: Input should be greater"),
    case(
        "width",
        "sources:\n  - {kind: synthetic, width: -640}\n",
        "sources.0.synthetic.width: Input should be",
    ),
    case(
        "resize",
        LINE + "preprocess:\n  - {step: resize, width: -1, height: 8}\n",
        "preprocess.0.resize.width",
    ),
    case(
        "buffer",
        LINE + "plc: {handshake: {buffer_depth: -1}}\n",
        "plc.handshake.buffer_depth: Input should be",
    ),
    case(
        "register", LINE + "plc: {registers: {status: -1}}\n", "plc.registers.status: Input should be greater"
    ),
    case(
        "imgsz", LINE + "engine: {imgsz: -320}\n", "engine.imgsz: Input should be greater than or equal to 32"
    ),
    case("late_ms", LINE + "plc: {pulses: {late_ms: -5}}\n", "plc.pulses.late_ms: Input should be greater"),
    case(
        "history-window",
        LINE + "rules:\n  rules:\n    h: {kind: history, code: 9, window: -3, max_rejects: 1}\n",
        "rules.rules.h.history.window: Input should be greater than or equal to 1",
    ),
    case("port", LINE + "plc: {port: 70000}\n", "plc.port: Input should be less than or equal to 65535"),
]

NOT_YAML = [
    case("unclosed-bracket", "sources: [\n", "is not valid YAML at line 2, column 1"),
    case("bad-indent", "plc:\n  host: a\n port: 3\n", "is not valid YAML at line 3, column 2"),
    case("tab", "plc:\n\thost: a\n", "found character '\\t' that cannot start any token"),
    case("unclosed-quote", "plc: {host: 'a}\n", "is not valid YAML at line 2"),
    case(
        "python-tag", "plc: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"
    ),
    case(
        "two-documents",
        LINE + "---\nplc: {}\n",
        "expected a single document in the stream, but found another",
    ),
    case("deep-nesting", "a: " + "[" * 1000 + "\n", "is nested too deeply to be a config file"),
    case("list-as-key", "? [a, b]\n: 1\n", "found unhashable key"),
    case("undefined-alias", "plc: *nope\n", "found undefined alias 'nope'"),
    case("binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "is not UTF-8 text"),
    case("latin-1", "plc:\n  host: caf\xe9\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9 at line 2)"),
    case("nul-byte", b"plc:\x00 {}\n", "unacceptable character #x0000 at line 1"),
    case("top-level-list", "- sources\n- plc\n", "must hold a mapping of sections, not list"),
    case("top-level-scalar", "hello\n", "must hold a mapping of sections, not str"),
    case("top-level-number", "42\n", "must hold a mapping of sections, not int"),
]

DUPLICATE_KEYS = [
    case("top", LINE + "plc: {}\nplc: {}\n", "plc: key given twice (lines 3 and 4)"),
    case("nested", LINE + "plc:\n  host: a\n  host: b\n", "plc.host: key given twice (lines 4 and 5)"),
    case(
        "rule-name",
        LINE + "rules:\n  rules:\n    r1: {kind: presence, code: 3, classes: [b]}\n"
        "    r1: {kind: presence, code: 4, classes: [b]}\n",
        "rules.rules.r1: key given twice (lines 5 and 6)",
    ),
    case("flow-mapping", LINE + "engine: {conf: 0.3, conf: 0.4}\n", "engine.conf: key given twice (line 3)"),
    case(
        "in-list-entry",
        "sources:\n  - kind: synthetic\n    kind: camera\n",
        "sources.0.kind: key given twice",
    ),
]

EMPTY = [
    case("empty-file", "", "sources: at least one source is needed"),
    case("comments-only", "# nothing yet\n", "sources: at least one source is needed"),
]

FILE_CASES = [*UNKNOWN_KEYS, *WRONG_TYPES, *NOT_FINITE, *OUT_OF_BOUNDS, *NOT_YAML, *DUPLICATE_KEYS, *EMPTY]


def assert_config_error(command: str, code: int, err: str, needle: str) -> None:
    """Exit 2, a header line, then one indented line per error; no traceback."""
    assert code == 2, err
    assert needle in err, err
    assert "Traceback" not in err
    head, *problems = err.rstrip("\n").split("\n")
    assert head.startswith(f"inspector {command}: error: "), err
    assert all(line.startswith("  ") and ": " in line for line in problems), err


def run_both(argv: list[str], capsys: pytest.CaptureFixture[str], needle: str) -> None:
    """``check`` then ``run`` (only once check refused it: run on a good config would start a line)."""
    for command in ("check", "run"):
        code = main([command, *argv])
        assert_config_error(command, code, capsys.readouterr().err, needle)


@pytest.mark.parametrize(("content", "needle"), FILE_CASES)
def test_malformed_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, needle: str
) -> None:
    path = tmp_path / "line.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    run_both(["--config", str(path)], capsys, needle)


def test_many_errors_are_listed_up_to_a_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(LINE + "engine: {classes: [" + ", ".join(["x"] * 200) + "]}\n")
    run_both(["--config", str(path)], capsys, "...: 150 more problems not shown")


ENV_CASES = [
    pytest.param({"INSPECTOR_PLC": "{bad"}, "INSPECTOR_PLC: not valid JSON", id="section-bad-json"),
    pytest.param(
        {"INSPECTOR_SOURCES": "[{kind: camera}]"}, "INSPECTOR_SOURCES: not valid JSON", id="list-bad-json"
    ),
    pytest.param({"INSPECTOR_PLC": ""}, "INSPECTOR_PLC: not valid JSON", id="section-empty"),
    pytest.param({"INSPECTOR_PLC": "[" * 100_000}, "INSPECTOR_PLC: not valid JSON", id="section-deep-json"),
    pytest.param(
        {"INSPECTOR_SOURCES": '{"kind": "camera", "uri": "0"}'},
        "sources: Input should be a valid list (from INSPECTOR_SOURCES)",
        id="list-given-a-mapping",
    ),
    pytest.param(
        {"INSPECTOR_PLC": "5"},
        "plc: should be a section of keys (key: value), not int 5 (from INSPECTOR_PLC)",
        id="section-number",
    ),
    pytest.param(
        {"INSPECTOR_PLC_HOST": "10.0.0.5"}, "INSPECTOR_PLC_HOST: maps to no config key", id="unknown-section"
    ),
    pytest.param(
        {"INSPECTOR_PLC__HOTS": "10.0.0.5"},
        "plc.hots: unknown key (from INSPECTOR_PLC__HOTS)",
        id="unknown-key",
    ),
    pytest.param(
        {"INSPECTOR_PLC__PULSES__LATE": "5"},
        "plc.pulses.late: unknown key (from INSPECTOR_PLC__PULSES__LATE)",
        id="unknown-nested-key",
    ),
    pytest.param(
        {"INSPECTOR_SOURCES__0__BOGUS": "1"},
        "sources.0.synthetic.bogus: unknown key (from INSPECTOR_SOURCES__0__BOGUS)",
        id="unknown-key-in-list-entry",
    ),
    pytest.param(
        {"INSPECTOR_PLC__PULSES": '{"late": 5}'},
        "plc.pulses.late: unknown key (from INSPECTOR_PLC__PULSES)",
        id="unknown-key-in-json",
    ),
    pytest.param({"INSPECTOR_PLC__PORT": "abc"}, "plc.port: Input should be a valid integer", id="port-text"),
    pytest.param(
        {"INSPECTOR_PLC__PULSES__LATE_MS": "soon"},
        "(from INSPECTOR_PLC__PULSES__LATE_MS)",
        id="late_ms-text",
    ),
    pytest.param(
        {"INSPECTOR_ENGINE__CONF": "nan"},
        "engine.conf: Input should be a finite number (from INSPECTOR_ENGINE__CONF)",
        id="conf-nan",
    ),
    pytest.param(
        {"INSPECTOR_SOURCES__0__FPS_LIMIT": "-1"},
        "fps_limit: Input should be greater than 0 (from INSPECTOR_SOURCES__0__FPS_LIMIT)",
        id="fps-negative",
    ),
    pytest.param(
        {"INSPECTOR_SOURCES__5__URI": "rtsp://10.0.0.7/s"},
        "sources.5: index 5 skips entries: the list has 1 (entries count from 0) (from INSPECTOR_SOURCES__5",
        id="index-past-the-end",
    ),
    pytest.param(
        {"INSPECTOR_SOURCES__X__URI": "rtsp://10.0.0.7/s"},
        "sources: Input should be a valid list (from INSPECTOR_SOURCES__X__URI)",
        id="index-not-a-number",
    ),
    pytest.param(
        {"INSPECTOR_ENGINE__CLASSES": '[1, "x"]'},
        "engine.classes.1: Input should be a valid integer",
        id="classes-wrong-entry",
    ),
    pytest.param(
        {"INSPECTOR_HEALTH__HTTP": "maybe"}, "health.http: Input should be a valid boolean", id="bool"
    ),
    pytest.param({"inspector_plc__port": "abc"}, "(from inspector_plc__port)", id="lower-case-name"),
]


@pytest.mark.parametrize(("env", "needle"), ENV_CASES)
def test_malformed_environment_override(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    needle: str,
) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(LINE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run_both(["--config", str(path)], capsys, needle)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        pytest.param(lambda tmp: tmp, "is a directory, not a file", id="directory"),
        pytest.param(lambda tmp: tmp / "absent.yaml", "absent.yaml does not exist", id="missing"),
        pytest.param(lambda tmp: tmp / "broken", "does not exist", id="dangling-symlink"),
        pytest.param(
            lambda tmp: tmp / "file.yaml" / "x.yaml", "cannot be read: Not a directory", id="under-a-file"
        ),
        pytest.param(
            lambda tmp: tmp / "loop", "cannot be read: Too many levels of symbolic links", id="symlink-loop"
        ),
    ],
)
def test_config_path_that_is_not_a_readable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, needle: str
) -> None:
    (tmp_path / "file.yaml").write_text(LINE)
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere.yaml")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    path = make(tmp_path)  # type: ignore[operator]
    run_both(["--config", str(path)], capsys, needle)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(LINE)
    path.chmod(0)
    run_both(["--config", str(path)], capsys, "cannot be read: Permission denied")


def test_inspector_config_naming_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INSPECTOR_CONFIG", str(tmp_path))
    run_both([], capsys, "is a directory, not a file")


def test_byte_order_marks_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What Windows editors write: UTF-8 and UTF-16 with a byte-order mark are text, not garbage."""
    for encoding in ("utf-8-sig", "utf-16"):
        path = tmp_path / f"{encoding}.yaml"
        path.write_text(LINE, encoding=encoding)
        assert main(["check", "--config", str(path)]) == 0, capsys.readouterr().err


# A handful in real processes: the exit status and stderr a shell or systemd sees.
PROCESS_CASES = [
    pytest.param("check", b"\x00\xff\xfe garbage", {}, "is not UTF-8 text", id="check-binary"),
    pytest.param(
        "check", LINE + "plc:\n  host: a\n  host: b\n", {}, "plc.host: key given twice", id="check-dup"
    ),
    pytest.param(
        "check", LINE, {"INSPECTOR_PLC_HOST": "x"}, "INSPECTOR_PLC_HOST: maps to no", id="check-env"
    ),
    pytest.param("run", "a: " + "[" * 1000 + "\n", {}, "nested too deeply", id="run-deep"),
    pytest.param(
        "run", LINE + "engine: {conf: .nan}\n", {}, "engine.conf: Input should be a finite", id="run-nan"
    ),
]


@pytest.mark.parametrize(("command", "content", "env", "needle"), PROCESS_CASES)
def test_in_a_real_process(
    tmp_path: Path, command: str, content: str | bytes, env: dict[str, str], needle: str
) -> None:
    path = tmp_path / "line.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    full_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env}
    result = subprocess.run(
        [sys.executable, "-m", "inspector", command, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )
    assert_config_error(command, result.returncode, result.stderr, needle)
