"""The pipeline benchmark's code path (not its figures): both sides run the same frames."""

from __future__ import annotations

from inspector.app.bench import make_frames, run_bench
from tests.support.parts import BlobEngine


def test_bench_runs_raw_and_pipeline_over_the_same_frames() -> None:
    engine = BlobEngine()
    frames = make_frames(3, 96, 80)
    lines: list[str] = []
    result = run_bench(engine, frames, total=6, batch=2, repeats=1, report=lines.append)
    assert len(result.raw_fps) == len(result.pipeline_fps) == 1
    assert result.ratio > 0 and len(lines) == 1
    # warm-ups (2 + 2) + raw (6 frames in batches of 2) + pipeline (6 frames, batched up to 2)
    assert sum(engine.calls) == 4 + 6 + 6 and max(engine.calls) <= 2
