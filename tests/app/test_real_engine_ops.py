"""With the real engine on a tiny YOLOv8-seg checkpoint: injected CUDA OOM through the engine hook,
and ``inspector run`` as systemd runs it (notify socket, watchdog pulses, SIGTERM drain)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.engine import load_engine
from inspector.engine.config import EngineConfig
from inspector.messages import FailSafeCause
from tests.support import wait_until
from tests.support.notify import notify_listener
from tests.support.oom import OomInjectingEngine
from tests.support.parts import DefectRules, RecordingOutput, write_frames

ROOT = Path(__file__).resolve().parents[2]


def test_injected_oom_in_the_real_engine_fails_safe_then_recovers(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    write_frames(tmp_path / "frames", 4, size=(96, 128))
    engine = OomInjectingEngine(load_engine(EngineConfig(model=tiny_seg_checkpoint, imgsz=160, device="cpu")))
    config = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path / "frames"), "loop": True}],
        runtime={
            "batch_size": 2,
            "batch_max_wait_ms": 20,
            "poll_timeout_s": 0.02,
            "max_frames": 12,
            "frames_queue": {"size": 2, "overflow": "block"},  # every frame inferred, none dropped
        },
        watchdog={"oom": {"repeat_count": 100}},
    )
    out = RecordingOutput()
    app = App(build_line(config, LineParts(engine, DefectRules(), [out])))
    app.start()
    try:
        assert wait_until(lambda: len(out.messages) >= 2, timeout=60)
        engine.arm(times=3, min_batch=1)  # a batch, then both halves: the whole batch fails safe
    finally:
        assert app.run_until_stopped()
    failsafe = [m for m in out.messages if m.verdict is not None and m.verdict.failsafe]
    assert failsafe and all(m.verdict.reasons[0].code == FailSafeCause.OUT_OF_MEMORY for m in failsafe)
    assert len(failsafe) <= 2 and engine.injected == 3
    last = out.messages[-1]
    assert last.verdict is not None and not last.verdict.failsafe and last.detections is not None
    assert len(out.messages) >= 12


@pytest.mark.slow
def test_inspector_run_under_a_notify_socket_drains_on_sigterm(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    write_frames(tmp_path / "frames", 4, size=(96, 128))
    config = {
        "sources": [
            {"kind": "folder", "id": "cam0", "path": str(tmp_path / "frames"), "loop": True, "fps_limit": 20}
        ],
        "engine": {"model": str(tiny_seg_checkpoint), "imgsz": 160, "device": "cpu"},
        "health": {"interval_s": 0.1},
        "log": {"format": "json"},
    }
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(config))
    with notify_listener() as listener:
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(listener.path),
            "WATCHDOG_USEC": "900000",
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "run", "--config", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert listener.wait_for("READY=1", timeout=60)
            t_ready = time.monotonic()
            assert wait_until(lambda: listener.count("WATCHDOG=1", t_ready) >= 3, timeout=10)
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        assert proc.returncode == 0, output[-3000:]
        assert listener.wait_for("STOPPING=1", timeout=5)
        messages = listener.drain()
        ready = next(m for m in messages if "READY=1" in m)
        assert "STATUS=" in ready
    assert '"event": "line_stopped"' in output and '"clean": true' in output
