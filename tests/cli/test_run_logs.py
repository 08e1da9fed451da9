"""``inspector run`` keeps its log one JSON object per line even when native libraries speak:
FFmpeg and OpenCV complaining about a camera that refuses the connection become ``native_log``
events (logger ``native``), so ``journalctl -o cat -u inspector | jq`` never meets plain text."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float) -> bytes:
    """Stdout of ``proc`` up to the first line holding ``needle`` (or everything by ``timeout``)."""
    assert proc.stdout is not None
    data, deadline = b"", time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            data += os.read(proc.stdout.fileno(), 65536)
    return data


def test_camera_errors_from_ffmpeg_and_opencv_arrive_as_json(
    tmp_path: Path, tiny_seg_checkpoint: Path
) -> None:
    config = tmp_path / "line.yaml"
    config.write_text(
        "sources:\n"
        "  - {kind: camera, id: cam0, uri: 'rtsp://127.0.0.1:1/x', open_timeout_s: 1,\n"
        "     reconnect_initial_s: 0.2, reconnect_max_s: 0.5}\n"
        f"engine: {{model: '{tiny_seg_checkpoint}', device: cpu}}\n"
        "log: {format: json}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        head = read_until(proc, b'"native_log"', timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    events = [json.loads(line) for line in (head + rest).decode().splitlines()]  # all JSON
    native = [e for e in events if e["event"] == "native_log"]
    assert native, [e["event"] for e in events]
    assert all(e["logger"] == "native" and e["level"] in ("warning", "error") for e in native)
    assert any("127.0.0.1:1" in e["line"] or "WARN" in e["line"] for e in native)
    assert err.decode().strip() == ""  # nothing plain on stderr either
    assert proc.returncode == 0
