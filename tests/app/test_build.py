"""Building the line from config: the start-up warning for a pulse window shorter
than one warm frame through the real engine."""

from __future__ import annotations

from pathlib import Path

from inspector.app import build_line
from inspector.config.settings import InspectorConfig
from tests.support.logs import LogCapture


def config(model: Path, late_ms: int, mode: str = "free_run") -> InspectorConfig:
    return InspectorConfig(
        sources=[{"kind": "synthetic", "id": "cam0", "width": 160, "height": 120, "count": 1}],
        engine={"model": str(model), "device": "cpu", "warmup": 1},
        plc={
            "mode": mode,
            "role": "off" if mode == "free_run" else "client",
            "pulses": {"delay_ms": 0, "late_ms": late_ms},
        },
    )


def test_a_pulse_window_shorter_than_one_frame_is_warned_at_start(
    tiny_seg_checkpoint: Path, logs: LogCapture
) -> None:
    line = build_line(config(tiny_seg_checkpoint, late_ms=1))
    frame_ms = line.engine.warmup_ms  # type: ignore[attr-defined]
    assert frame_ms is not None and frame_ms > 1.0  # a CPU forward pass takes more than 1 ms
    (event,) = logs.events("pulse_window_shorter_than_inference")
    assert event["window_ms"] == 1 and event["engine_ms"] > 1.0
    assert "late_ms" in event["hint"]


def test_a_window_that_covers_the_engine_or_triggered_mode_is_not_warned(
    tiny_seg_checkpoint: Path, logs: LogCapture
) -> None:
    build_line(config(tiny_seg_checkpoint, late_ms=600_000))
    build_line(config(tiny_seg_checkpoint, late_ms=1, mode="triggered"))
    assert logs.events("pulse_window_shorter_than_inference") == []
