"""Small real components for runtime tests that do not need a neural network.

``BlobEngine`` segments bright blobs (a real computation producing real
``Detections``) so queue, drop and shutdown tests run in milliseconds;
the end-to-end tests use the real engine on a real checkpoint.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from inspector.app import App, LineParts, build_line
from inspector.config.settings import InspectorConfig
from inspector.messages import Detections, FrameMsg, Reason, Verdict, VerdictCode
from inspector.sources.folder import FolderSource

DEMO_NAMES = ("good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint")


class BlobEngine:
    """Connected bright regions become instances; class = blob area bucket; optional per-call delay."""

    def __init__(self, delay_s: float = 0.0, threshold: int = 200) -> None:
        self.names = DEMO_NAMES
        self.device = torch.device("cpu")
        self.delay_s = delay_s
        self.threshold = threshold
        self.calls: list[int] = []  # batch sizes seen
        self.release = threading.Event()
        self.release.set()

    def warmup(self) -> None:
        self.infer([np.zeros((32, 32, 3), np.uint8)])
        self.calls.clear()

    def infer(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.calls.append(len(frames))
        self.release.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)
        return [self._one(f) for f in frames]

    def _one(self, frame: np.ndarray) -> Detections:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        count, labels, boxes, _ = cv2.connectedComponentsWithStats((grey >= self.threshold).astype(np.uint8))
        ids = list(range(1, count))
        masks = (
            torch.from_numpy(np.stack([labels == i for i in ids]))
            if ids
            else torch.zeros((0, *grey.shape), dtype=torch.bool)
        )
        xyxy = [[b[0], b[1], b[0] + b[2], b[1] + b[3]] for b in boxes[1:]]
        areas = boxes[1:, 4] if ids else np.zeros(0)
        return Detections(
            boxes=torch.tensor(xyxy, dtype=torch.float32).reshape(-1, 4),
            scores=torch.full((len(ids),), 0.9),
            class_ids=torch.tensor([1 if a > 400 else 0 for a in areas], dtype=torch.int64),
            masks=masks,
            names=self.names,
        )


class DefectRules:
    """The demo rule: reject when any defect class (ids 1..4) has score >= 0.5."""

    def __init__(self) -> None:
        self.evaluated = 0

    def evaluate(self, detections: Detections, source_id: str) -> Verdict:
        self.evaluated += 1
        defect = (detections.class_ids >= 1) & (detections.scores >= 0.5)
        if bool(defect.any()):
            idx = int(torch.nonzero(defect)[0, 0])
            name = detections.names[int(detections.class_ids[idx])]
            return Verdict(VerdictCode.REJECT, (Reason(rule=f"no_{name}", code=10, instance=idx),))
        return Verdict(VerdictCode.PASS)


class RecordingOutput:
    """An output that keeps every submitted message (in-process stand-in for the PLC link)."""

    def __init__(self) -> None:
        self.messages: list[FrameMsg] = []
        self.status: dict[str, bool] = {}
        self.status_history: list[dict[str, bool]] = []
        self.healthy: bool | None = None
        self.started = self.stopped = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float) -> None:
        self.stopped = True

    def submit(self, msg: FrameMsg) -> None:
        with self._lock:
            self.messages.append(msg)

    def set_status(self, **flags: bool) -> None:
        self.status.update(flags)
        self.status_history.append(dict(flags))

    def set_healthy(self, healthy: bool) -> None:
        self.healthy = healthy


class FlakyFolder(FolderSource):
    """A folder camera that stops answering after ``fail_after`` frames for ``fail_reads`` reads,
    refusing ``fail_opens`` reopen attempts: a camera unplugged mid-run and plugged back."""

    def __init__(self, config: object, fail_after: int, fail_reads: int = 1, fail_opens: int = 2) -> None:
        super().__init__(config)  # type: ignore[arg-type]
        self.fail_after = fail_after
        self.fail_reads = fail_reads
        self.fail_opens = fail_opens
        self.opens = 0
        self.good_reads = 0

    def open(self) -> None:
        from inspector.errors import SourceUnavailable

        self.opens += 1
        if self.opens > 1 and self.fail_opens > 0:
            self.fail_opens -= 1
            raise SourceUnavailable("camera does not answer")
        super().open()

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.good_reads >= self.fail_after and self.fail_reads > 0:
            self.fail_reads -= 1
            return False, None
        ok, frame = super().read()
        self.good_reads += int(ok)
        return ok, frame


def write_frames(folder: Path, count: int, size: tuple[int, int] = (96, 128), seed: int = 0) -> list[Path]:
    """``count`` PNG frames with a few bright squares each (some big = 'defects'); sorted names."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        image = np.full((*size, 3), 40, np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            side = int(rng.choice([8, 30]))
            y, x = int(rng.integers(0, size[0] - side)), int(rng.integers(0, size[1] - side))
            image[y : y + side, x : x + side] = 255
        path = folder / f"frame_{i:04d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def run_line(app: App, timeout: float = 30.0, *, start: bool = True) -> bool:
    """Run the line until it ends (or ``timeout`` passes, then shut down); True on a clean stop.

    ``start=False`` for a line the test already started."""
    if start:
        app.start()
    timer = threading.Timer(timeout, app.request_shutdown, args=("test timeout",))
    timer.start()
    try:
        return app.run_until_stopped()
    finally:
        timer.cancel()
        timer.join()


class TriggeringOutput(RecordingOutput):
    """The output side of a triggered line: hands out queued PLC triggers with part ids
    (at once: it does not wait for busy to drop like the real handshake does)."""

    def __init__(self) -> None:
        super().__init__()
        self.triggers: queue.Queue[Any] = queue.Queue()

    def next_trigger(self, timeout: float) -> Any:
        try:
            return self.triggers.get(timeout=timeout)
        except queue.Empty:
            return None


class Trigger:
    def __init__(self, part_id: int) -> None:
        self.part_id = part_id
        self.t_trigger = time.monotonic()


def supervised_config(folder: Path, **sections: Any) -> InspectorConfig:
    # frames_queue blocks: no frame is dropped for freshness, so every captured seq must be answered
    runtime = {
        "stats_interval_s": 5,
        "poll_timeout_s": 0.02,
        "shutdown_deadline_s": 10,
        "frames_queue": {"size": 4, "overflow": "block"},
    }
    runtime.update(sections.pop("runtime", {}))
    watchdog = {"liveness_interval_s": 0.05, "stall_after_s": 0.5, "rss_interval_s": 0.2}
    watchdog.update(sections.pop("watchdog", {}))
    health = {"interval_s": 0.05, "watchdog_pulse_s": 0.1}
    health.update(sections.pop("health", {}))
    source = {"kind": "folder", "id": "cam0", "path": str(folder), "loop": True, "fps_limit": 60}
    return InspectorConfig(sources=[source], runtime=runtime, watchdog=watchdog, health=health, **sections)


def supervised_line(tmp_path: Path, engine: Any = None, **sections: Any) -> tuple[App, RecordingOutput]:
    write_frames(tmp_path / "frames", 8)
    out = RecordingOutput()
    app = App(
        build_line(
            supervised_config(tmp_path / "frames", **sections),
            LineParts(engine or BlobEngine(), DefectRules(), [out]),
        )
    )
    return app, out
