"""Hot reload: a valid file applied between parts, an invalid one or one needing a restart
refused with the running config kept; in process, and by a real SIGHUP to ``inspector run``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from inspector.app import App, LineParts, build_line
from inspector.app.reload import ConfigReloader, changed_keys, needs_restart
from inspector.config.settings import load_config
from inspector.plc.registers import STATUS
from inspector.plc.simulator import PlcSimulator
from tests.cli.test_run_logs import read_until
from tests.support import wait_until
from tests.support.logs import LogCapture
from tests.support.parts import RecordingOutput, write_frames
from tests.support.recipes import RECIPES, RULES, blob_engine_for

ROOT = Path(__file__).resolve().parents[2]


def line_file(path: Path, folder: Path, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sources": [{"kind": "folder", "id": "cam0", "path": str(folder), "loop": True, "fps_limit": 60}],
        "engine": {"conf": 0.25},
        "rules": RULES,
        "recipes": RECIPES,
        "runtime": {"poll_timeout_s": 0.02, "frames_queue": {"size": 4, "overflow": "block"}},
    }
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return data


def test_changed_keys_name_the_leaves() -> None:
    old = {"engine": {"conf": 0.25, "iou": 0.7}, "preprocess": [{"step": "gamma", "gamma": 1.0}]}
    new = {"engine": {"conf": 0.5, "iou": 0.7}, "preprocess": [{"step": "gamma", "gamma": 2.0}], "x": 1}
    assert list(changed_keys(old, new)) == ["engine.conf", "preprocess.0.gamma", "x"]


def test_which_keys_reload_between_parts_and_which_need_a_restart() -> None:
    hot = [
        "engine.conf",
        "engine.model",
        "rules.rules.bridge",
        "preprocess.0.gamma",
        "recipes.a.engine.model",
    ]
    restart = [
        "engine.device",
        "plc.port",
        "sources.0.fps_limit",
        "runtime.batch_size",
        "log.level",
        "archive",
    ]
    assert [needs_restart(key) for key in hot] == [False] * len(hot)
    assert [needs_restart(key) for key in restart] == [True] * len(restart)


def test_reload_applies_a_valid_file_and_refuses_the_others(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path / "frames", 8)
    path = tmp_path / "line.yaml"
    line_file(path, tmp_path / "frames")
    out = RecordingOutput()
    app = App(build_line(load_config(path), LineParts(outputs=[out], engine_factory=blob_engine_for)))
    reloader = ConfigReloader(load_config(path), path, app.line.recipes)
    app.start()
    try:
        wait_until(lambda: len(out.messages) >= 5, timeout=10)
        # valid: a new recipe and new base thresholds and rules, while parts flow
        recipes = {**RECIPES, "late-shift": {"number": 2, "engine": {"conf": 0.5}}}
        line_file(path, tmp_path / "frames", recipes=recipes, engine={"conf": 0.3}, rules={"rules": {}})
        assert reloader.reload("test")
        assert [e.number for e in app.line.recipes.recipes()] == [0, 1, 2]
        app.line.recipes.request(2, "test")
        seen = len(out.messages)
        wait_until(lambda: len(out.messages) >= seen + 5, timeout=10)
        # invalid: refused, named by key path; the running config stays
        line_file(path, tmp_path / "frames", engine={"conf": 7})
        assert not reloader.reload("test")
        # needs a restart: refused, naming the key
        runtime = {"poll_timeout_s": 0.02, "frames_queue": {"size": 4, "overflow": "block"}, "batch_size": 2}
        line_file(
            path,
            tmp_path / "frames",
            recipes=recipes,
            engine={"conf": 0.3},
            rules={"rules": {}},
            runtime=runtime,
        )
        assert not reloader.reload("test")
        assert [e.number for e in app.line.recipes.recipes()] == [0, 1, 2]
        assert app.line.recipes.active.number == 2
        seen = len(out.messages)
        wait_until(lambda: len(out.messages) >= seen + 5, timeout=10)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    messages = sorted(out.messages, key=lambda m: m.seq)
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))  # no part lost
    assert not [m.seq for m in messages if m.verdict is None or m.verdict.failsafe]
    applied = logs.events("config_reloaded")
    assert len(applied) == 1 and applied[0]["origin"] == "test"
    assert applied[0]["sha256_before"] != applied[0]["sha256_after"]
    assert {"engine.conf", "recipes.late-shift", "rules.rules.bridge"} <= set(applied[0]["changed"])
    invalid, restart = logs.events("config_reload_refused")
    assert any(problem.startswith("engine.conf:") for problem in invalid["problems"])
    assert restart["restart_keys"] == ["runtime.batch_size"]
    assert "runtime.batch_size" in restart["reason"]


def test_the_first_recipes_need_a_restart(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path / "frames", 2)
    path = tmp_path / "line.yaml"
    line_file(path, tmp_path / "frames", recipes={})
    app = App(
        build_line(load_config(path), LineParts(outputs=[RecordingOutput()], engine_factory=blob_engine_for))
    )
    reloader = ConfigReloader(load_config(path), path, app.line.recipes)
    line_file(path, tmp_path / "frames")  # with recipes
    assert not reloader.reload("test")
    (refused,) = logs.events("config_reload_refused")
    assert refused["restart_keys"] == ["recipes (a line started without recipes)"]
    assert [e.number for e in app.line.recipes.recipes()] == [0]


def test_sighup_to_inspector_run_reloads_its_config(
    tmp_path: Path, tiny_seg_checkpoint: Path, sim: PlcSimulator
) -> None:
    """A real daemon with a real model, connected to the PLC simulator: SIGHUP with a valid file
    applies it without dropping the PLC link or a part; SIGHUP with an invalid one is refused."""
    write_frames(tmp_path / "frames", 4)
    path = tmp_path / "line.yaml"
    plc = {"role": "client", "port": sim.port, "timeout_ms": 200, "pulses": {"late_ms": 20000}}
    base = {
        "sources": [
            {"kind": "folder", "id": "cam0", "path": str(tmp_path / "frames"), "loop": True, "fps_limit": 4}
        ],
        "engine": {"model": str(tiny_seg_checkpoint), "device": "cpu", "imgsz": 128, "warmup": 1},
        "plc": plc,
        "log": {"format": "json"},
        "recipes": {"dim": {"number": 3, "engine": {"conf": 0.1}}},
    }
    path.write_text(yaml.safe_dump(base))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "run", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        head = read_until(proc, b'"line_started"', timeout=120)
        wait_until(lambda: len(sim.results()) >= 2, timeout=60)
        recipes = {**base["recipes"], "bright": {"number": 4, "engine": {"conf": 0.6}}}
        path.write_text(
            yaml.safe_dump({**base, "engine": {**base["engine"], "conf": 0.4}, "recipes": recipes})
        )
        proc.send_signal(signal.SIGHUP)
        head += read_until(proc, b'"config_reloaded"', timeout=60)
        assert b'"config_reloaded"' in head, head[-3000:]
        path.write_text(yaml.safe_dump({**base, "engine": {**base["engine"], "conf": 3}}))
        proc.send_signal(signal.SIGHUP)
        head += read_until(proc, b'"config_reload_refused"', timeout=60)
        assert b'"config_reload_refused"' in head, head[-3000:]
        sim.select_recipe(4)  # the reloaded recipe is there to select
        acknowledge = sim.registers.status + STATUS.offset("recipe")
        wait_until(lambda: sim.read_registers(acknowledge, 1) == [4], timeout=10)
        seen = len(sim.results())
        wait_until(lambda: len(sim.results()) >= seen + 2, timeout=60)  # still inspecting
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    events = [json.loads(line) for line in (head + rest).decode().splitlines()]
    names = [e["event"] for e in events]
    assert names.count("plc.link_up") == 1  # the PLC link was never dropped
    (applied,) = [e for e in events if e["event"] == "config_reloaded"]
    assert applied["origin"] == "SIGHUP" and "engine.conf" in applied["changed"]
    (refused,) = [e for e in events if e["event"] == "config_reload_refused"]
    assert any(p.startswith("engine.conf:") for p in refused["problems"])
    results = sim.results()
    assert [r.part_id for r in results] == list(range(1, len(results) + 1))  # no part lost
    assert results[-1].recipe == 4
