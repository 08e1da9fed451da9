"""One part id everywhere: in free run the part id IS the frame's seq, set once at capture and
the same in the 'inspection' event, the archive's JSON and what the outputs (the PLC) get."""

from __future__ import annotations

import json
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import VerdictCode
from tests.support.logs import LogCapture
from tests.support.parts import BlobEngine, DefectRules, RecordingOutput, run_line, write_frames


def test_free_run_part_id_is_the_seq_in_log_archive_and_outputs(tmp_path: Path, logs: LogCapture) -> None:
    write_frames(tmp_path / "frames", 6)
    archive_dir = tmp_path / "archive"
    config = InspectorConfig(
        sources=[{"kind": "folder", "id": "cam0", "path": str(tmp_path / "frames")}],
        runtime={"poll_timeout_s": 0.02},
        archive={"enabled": True, "dir": str(archive_dir), "min_free_mib": 0},
    )
    out = RecordingOutput()
    assert run_line(App(build_line(config, LineParts(BlobEngine(), DefectRules(), [out]))))
    events = logs.events("inspection")
    assert [e["seq"] for e in events] == list(range(1, 7))
    assert [e["part_id"] for e in events] == [e["seq"] for e in events]
    assert [m.part_id for m in out.messages] == [m.seq for m in out.messages]
    rejects = [m.seq for m in out.messages if m.verdict and m.verdict.code is VerdictCode.REJECT]
    records = [json.loads(path.read_text()) for path in archive_dir.rglob("*.json")]
    assert rejects and sorted(r["seq"] for r in records) == rejects  # the archive has every reject
    assert all(r["part_id"] == r["seq"] for r in records)
    # a folder has no camera counter: the device fields are left out, not written as null
    assert not any("device_frame_id" in e or "device_timestamp" in e for e in [*events, *records])
