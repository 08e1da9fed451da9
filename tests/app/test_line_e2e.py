"""The real line end to end: a folder camera, a real YOLOv8-seg checkpoint (engine), the real rules,
the output stage; then `inspector run` as a real process stopped by a real SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import pytest
import yaml

from inspector.app import App, build_line
from inspector.app.demo import DEMO_CONFIG
from inspector.config.settings import InspectorConfig
from inspector.messages import VerdictCode
from inspector.sources.synthetic import pcb_scene
from tests.support.logs import LogCapture

REPO = Path(__file__).resolve().parents[2]
FRAMES = 6


@pytest.fixture(scope="module")
def board_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("boards")
    render = pcb_scene(320, 240, seed=5)
    for i in range(FRAMES):
        cv2.imwrite(str(folder / f"board_{i:03d}.png"), render(i))
    return folder


def line_config(folder: Path, model: Path, **runtime: Any) -> dict[str, Any]:
    return {
        "sources": [{"kind": "folder", "id": "line1", "path": str(folder), "fps_limit": 200}],
        "preprocess": [{"step": "denoise", "method": "gaussian", "ksize": 3}],
        "engine": {"model": str(model), "device": "cpu", "imgsz": 320, "cpu_threads": 1, "conf": 0.1},
        "rules": DEMO_CONFIG["rules"],
        "runtime": {
            "frames_queue": {"overflow": "block"},
            "stats_interval_s": 0.5,
            "batch_size": 2,
            **runtime,
        },
        "log": {"format": "json"},
    }


def test_folder_through_every_stage_with_a_real_checkpoint(
    board_folder: Path, tiny_seg_checkpoint: Path, logs: LogCapture
) -> None:
    app = App(build_line(InspectorConfig(**line_config(board_folder, tiny_seg_checkpoint))))
    app.start()
    assert app.run_until_stopped(deadline_s=60)
    inspections = logs.events("inspection")
    assert [e["seq"] for e in inspections] == list(range(1, FRAMES + 1))
    for event in inspections:
        assert event["source"] == "line1" and event["part_id"] == event["seq"]  # free run: the seq
        assert set(event["stage_ms"]) == {"capture", "preprocess", "infer", "rules", "output"}
        assert event["verdict"] in {"PASS", "REJECT"} and not event["failsafe"]
        assert event["e2e_ms"] >= event["stage_ms"]["infer"]
    # the same frames through the engine alone: same instances, and the demo rule's verdicts
    engine = app.line.engine  # type: ignore[union-attr]
    chain_images = [cv2.GaussianBlur(cv2.imread(str(p)), (3, 3), 0) for p in sorted(board_folder.iterdir())]
    alone = engine.infer(chain_images)
    assert [sum(e["instances"].values()) for e in inspections] == [len(d) for d in alone]
    expected = ["REJECT" if bool(((d.class_ids >= 1) & (d.scores >= 0.5)).any()) else "PASS" for d in alone]
    assert [e["verdict"] for e in inspections] == expected
    total = app.line.stats.total()
    assert total["frames"] == FRAMES and sum(total["verdicts"].values()) == FRAMES
    assert set(total["verdicts"]) <= {VerdictCode.PASS.name, VerdictCode.REJECT.name}
    final = next(e for e in logs.events("stats") if e.get("final"))
    assert final["drops"]["frames"] == 0 and final["sources"]["line1"]["frames"] == FRAMES


def read_events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


@pytest.mark.slow
def test_inspector_run_stops_cleanly_on_sigterm(
    board_folder: Path, tiny_seg_checkpoint: Path, tmp_path: Path
) -> None:
    data = line_config(board_folder, tiny_seg_checkpoint, shutdown_deadline_s=20)
    data["sources"][0]["loop"] = True
    data["sources"][0]["fps_limit"] = 20
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out_path = tmp_path / "stdout.jsonl"
    with out_path.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "run", "--config", str(path)],
            stdout=out, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                if sum(e.get("event") == "inspection" for e in read_events(out_path.read_text())) >= 3:
                    break
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stderr:
                proc.stderr.close()
    events = read_events(out_path.read_text())
    names = [e.get("event") for e in events]
    assert code == 0
    assert "line_stopping" in names and "line_stopped" in names
    stopped = next(e for e in events if e.get("event") == "line_stopped")
    assert stopped["clean"] is True and stopped["stuck_stages"] == []
    frames_in = next(e for e in events if e.get("event") == "stats" and e.get("final"))["sources"]["line1"][
        "frames"
    ]
    assert names.count("inspection") == frames_in  # every captured frame was answered before exit
    assert next(e for e in events if e.get("event") == "exit")["code"] == 0


@pytest.mark.slow
def test_demo_runs_the_whole_line_and_prints_the_summary(tmp_path: Path) -> None:
    """The shipped model (not the stand-in) judges the demo's boards as the generator's truth
    says, and every REJECT reaches the simulated PLC.

    640x480 is the demo camera's size, the model's operating point: on boards 0..5 of seed 0
    the clean ones give no defect instance at all and each planted defect scores >= 0.7, so
    exact agreement is not fragile.
    """
    import re

    from inspector.synth import BoardGenerator, board_rejected

    frames = 6
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "demo", "--frames", str(frames), "--size", "640x480",
         "--seed", "0", "--device", "cpu", "--verbose"],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert f"frames     {frames}" in out and "fps" in out and "e2e" in out
    assert "model demo-pcb-seg.pt" in out
    assert "STAND-IN" not in out and "STAND-IN" not in result.stderr
    assert "Traceback" not in result.stderr
    # --verbose logs one inspection event per board (JSON: stderr is no terminal here); seq n is
    # the generator's board n - 1
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    verdicts = {e["seq"] - 1: e["verdict"] for e in events if e.get("event") == "inspection"}
    generator = BoardGenerator((640, 480), seed=0)
    truth = {i: "REJECT" if board_rejected(generator.render(i)[1]) else "PASS" for i in range(frames)}
    assert verdicts == truth
    rejects = sum(v == "REJECT" for v in truth.values())
    assert 0 < rejects < frames  # the boards exercise both verdicts
    assert f"PASS {frames - rejects}  REJECT {rejects}  ALARM 0  (fail-safe 0)" in out
    plc = re.search(r"(\d+) result blocks, (\d+) reject pulses.*\n\s+(\d+) parts merged.*, (\d+) late", out)
    assert plc, out
    blocks, pulses, merged, late = (int(v) for v in plc.groups())
    assert blocks == frames
    # a merged reject extends a running pulse; a late one (> 10 s, a badly stalled PC) gets no pulse
    assert rejects - late <= pulses + merged <= rejects
