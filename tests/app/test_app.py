"""The App with fast real components: every frame through every stage, batching, drops of
triggered parts failed safe, engine errors failed safe, a camera failing mid-run, stop deadline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import FailSafeCause, VerdictCode
from inspector.sources.config import FolderSourceConfig
from tests.support.logs import LogCapture
from tests.support.parts import (
    BlobEngine,
    DefectRules,
    FlakyFolder,
    RecordingOutput,
    Trigger,
    TriggeringOutput,
    run_line,
    write_frames,
)


def make_config(folder: Path, **runtime: Any) -> InspectorConfig:
    rt = {"stats_interval_s": 0.2, "poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}, **runtime}
    return InspectorConfig(sources=[{"kind": "folder", "id": "cam0", "path": str(folder)}], runtime=rt)


def parts(engine: BlobEngine | None = None) -> tuple[LineParts, RecordingOutput]:
    out = RecordingOutput()
    return LineParts(engine or BlobEngine(), DefectRules(), [out]), out


def test_every_frame_passes_every_stage_once(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path, 12)
    components, out = parts()
    app = App(build_line(make_config(tmp_path), components))
    assert run_line(app)
    assert [m.seq for m in out.messages] == list(range(1, 13))
    for msg in out.messages:
        assert [stage for stage, _ in msg.timings_ms] == ["capture", "preprocess", "infer", "rules"]
        assert msg.verdict is not None and not msg.verdict.failsafe
        big = msg.detections is not None and bool((msg.detections.class_ids == 1).any())
        assert msg.verdict.code is (VerdictCode.REJECT if big else VerdictCode.PASS)
    inspections = logs.events("inspection")
    assert [e["seq"] for e in inspections] == list(range(1, 13))
    first = inspections[0]
    assert set(first) >= {"seq", "source", "part_id", "verdict", "instances", "stage_ms", "e2e_ms"}
    assert first["source"] == "cam0" and set(first["stage_ms"]) == {
        "capture",
        "preprocess",
        "infer",
        "rules",
        "output",
    }
    assert sum(first["instances"].values()) == len(out.messages[0].detections)  # type: ignore[arg-type]
    rejected = [e for e in inspections if e["verdict"] == "REJECT"]
    assert rejected, "the frames hold big blobs: some parts are rejected"
    for event in rejected:  # first rule flat (for log queries), then each reason in full
        assert (event["rule"], event["rule_code"], event["reasons_total"]) == ("no_solder_bridge", 10, 1)
        (reason,) = event["reasons"]
        assert reason["rule"] == "no_solder_bridge" and reason["code"] == 10
        assert isinstance(reason["instance"], int) and {"value", "limit", "message"} <= set(reason)
    final = [e for e in logs.events("stats") if e.get("final")]
    assert final and {"fps", "latency_ms", "queue_depths", "drops", "reconnects"} <= set(final[0])
    assert logs.events("line_stopped")[0]["frames"] == 12
    assert out.healthy is False and out.stopped


def test_stats_event_has_percentiles_per_stage(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path, 4)
    components, _ = parts(BlobEngine(delay_s=0.1))
    assert run_line(App(build_line(make_config(tmp_path, stats_interval_s=0.1), components)))
    periodic = [e for e in logs.events("stats") if e["frames"] > 0]
    assert periodic
    lat = periodic[0]["latency_ms"]
    assert {"infer", "e2e"} <= set(lat) and set(lat["e2e"]) == {"p50", "p95", "p99"}
    assert periodic[0]["drops"] == {"frames": 0, "preprocessed": 0, "detections": 0, "verdicts": 0}


def test_inference_batches_waiting_frames(tmp_path: Path) -> None:
    write_frames(tmp_path, 10)
    engine = BlobEngine()
    engine.release.clear()  # hold the engine so frames pile up in its queue
    components, out = parts(engine)
    cfg = make_config(tmp_path, batch_size=4, batch_max_wait_ms=50, preprocessed_queue={"size": 16})
    app = App(build_line(cfg, components))
    app.start()
    deadline = time.monotonic() + 10
    while app.line.queue_depths()["preprocessed"] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.release.set()
    assert app.run_until_stopped()
    assert len(out.messages) == 10 and max(engine.calls) == 4 and sum(engine.calls) == 10


def test_engine_error_fails_safe_never_passes(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)

    class BrokenEngine(BlobEngine):
        def infer(self, frames: Any) -> Any:
            raise RuntimeError("device fell off the bus")

    components, out = parts(BrokenEngine())
    components.engine.warmup = lambda: None  # type: ignore[method-assign]
    assert run_line(App(build_line(make_config(tmp_path), components)))
    assert len(out.messages) == 3
    for msg in out.messages:
        assert msg.verdict is not None and msg.verdict.failsafe and msg.verdict.code is VerdictCode.REJECT
        assert msg.verdict.first_code == FailSafeCause.ENGINE_ERROR


def triggered(cfg: InspectorConfig) -> InspectorConfig:
    """``cfg`` with plc.mode: triggered."""
    return InspectorConfig(**{**cfg.model_dump(mode="json"), "plc": {"mode": "triggered"}})


def test_dropped_frame_of_a_triggered_part_reaches_the_output_failed_safe(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    engine = BlobEngine()
    engine.release.clear()
    out = TriggeringOutput()
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path), "loop": True}],
        runtime={"poll_timeout_s": 0.02,
                 "frames_queue": {"size": 1, "overflow": "drop_oldest"},
                 "preprocessed_queue": {"size": 1}, "detections_queue": {"size": 1}},
    )  # fmt: skip
    cfg = triggered(cfg)
    app = App(build_line(cfg, LineParts(engine, DefectRules(), [out])))
    app.start()
    for part in range(100, 108):
        out.triggers.put(Trigger(part))
    deadline = time.monotonic() + 10
    while app.line.queue_drops()["frames"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.release.set()
    deadline = time.monotonic() + 10
    while len(out.messages) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.stop(5.0)
    parts_seen = sorted(m.part_id for m in out.messages)
    assert parts_seen == list(range(100, 108))  # every part answered exactly once
    dropped = [m for m in out.messages if m.verdict is not None and m.verdict.failsafe]
    assert len(dropped) == app.line.queue_drops()["frames"] >= 1
    assert all(m.verdict.first_code == FailSafeCause.FRAME_DROPPED for m in dropped)  # type: ignore[union-attr]


def test_camera_failing_mid_run_counts_reconnects_invents_nothing(tmp_path: Path, logs: LogCapture) -> None:
    paths = write_frames(tmp_path, 8)
    camera = FlakyFolder(FolderSourceConfig(kind="folder", path=tmp_path), fail_after=3, fail_opens=2)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path), "reconnect_initial_s": 0.05,
                  "reconnect_max_s": 0.1}],
        runtime={"poll_timeout_s": 0.02, "stats_interval_s": 0.1, "frames_queue": {"overflow": "block"}},
    )  # fmt: skip
    components, out = parts()
    app = App(build_line(cfg, components, sources={"cam0": camera}))
    assert run_line(app)
    assert len(out.messages) == len(paths)  # exactly the real frames: none invented while lost
    assert all(m.image.size > 0 and not m.verdict.failsafe for m in out.messages)  # type: ignore[union-attr]
    assert app.line.source_stats()[0].reconnects == 1
    assert logs.events("source_lost") and logs.events("source_reconnected")
    assert {"camera_lost": True} in out.status_history, repr(out.status_history)
    lost_at = out.status_history.index({"camera_lost": True})  # pushed to the PLC status word
    assert {"camera_lost": False} in out.status_history[lost_at:]
    final = next(e for e in logs.events("stats") if e.get("final"))
    assert final["reconnects"] == 1 and final["sources"]["cam0"]["read_failures"] == 1


def test_stop_drains_within_the_deadline(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path), "loop": True}],
        runtime={"poll_timeout_s": 0.02, "frames_queue": {"overflow": "block"}},
    )
    components, out = parts(BlobEngine(delay_s=0.01))
    app = App(build_line(cfg, components))
    app.start()
    time.sleep(0.3)
    assert app.stop(deadline_s=5.0)
    assert not [s for s in app.line.stage_status() if s.alive]
    assert len(out.messages) == out.messages[-1].seq  # nothing lost between capture and output


def test_missed_deadline_is_unclean_and_still_stops(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    engine = BlobEngine()
    engine.release.clear()  # the engine hangs
    components, _ = parts(engine)
    app = App(build_line(make_config(tmp_path), components))
    app.start()
    time.sleep(0.1)
    assert app.stop(deadline_s=0.3) is False
    engine.release.set()
    time.sleep(0.1)


def test_introspection_for_health(tmp_path: Path) -> None:
    write_frames(tmp_path, 2)
    components, _ = parts()
    app = App(build_line(make_config(tmp_path), components))
    assert run_line(app)
    names = [s.name for s in app.line.stage_status()]
    assert names == ["output", "rules", "infer", "preprocess", "capture.cam0"]
    assert set(app.line.queue_depths()) == {"frames", "preprocessed", "detections", "verdicts"}
    assert np.isfinite([s.last_progress for s in app.line.stage_status()]).all()


def test_max_frames_takes_exactly_that_many_then_ends(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    cfg = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path), "loop": True}],
        runtime={"poll_timeout_s": 0.02, "max_frames": 7, "frames_queue": {"overflow": "block"}},
    )
    components, out = parts()
    assert run_line(App(build_line(cfg, components)))
    assert [m.seq for m in out.messages] == list(range(1, 8))


def test_rules_naming_an_unknown_camera_are_refused_at_build(tmp_path: Path) -> None:
    from inspector.config.settings import InspectorConfig
    from inspector.errors import ConfigError
    from tests.support.parts import BlobEngine

    rule = {"kind": "presence", "code": 3, "classes": ["solder_bridge"], "sources": ["cam9"]}
    config = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path)}], rules={"rules": {"bridge": rule}}
    )
    with pytest.raises(ConfigError, match=r"rules\.rules\.bridge\.presence\.sources"):
        build_line(config, LineParts(engine=BlobEngine()))
