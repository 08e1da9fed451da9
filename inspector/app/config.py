"""Config section of the runtime: queues, batching, shutdown, stats."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from inspector.section import Section


class OverflowPolicy(str, Enum):
    """What a full queue does with a new item."""

    BLOCK = "block"  # the producer waits (back-pressure up to the camera)
    DROP_OLDEST = "drop_oldest"  # the oldest queued item is dropped (counted); its part fails safe


class QueueConfig(Section):
    """One bounded queue between two stages."""

    size: int = Field(4, ge=1, le=4096, description="Capacity in frames.")
    overflow: OverflowPolicy = Field(
        OverflowPolicy.BLOCK,
        description="block: the producer waits (back-pressure); drop_oldest: the oldest item is "
        "dropped and counted, and a dropped frame reaches the output as a fail-safe verdict (901): "
        "in free run a rejected part, in triggered mode the triggered part.",
    )


class RuntimeConfig(Section):
    """Queues, batching, capture mode, shutdown and stats of the running line."""

    triggers_queue: QueueConfig = Field(
        default_factory=lambda: QueueConfig(size=8, overflow=OverflowPolicy.DROP_OLDEST),
        description="Triggered mode (plc.mode: triggered): PLC triggers waiting for their capture, per "
        "source (an overrun trigger's part is failed safe).",
    )
    frames_queue: QueueConfig = Field(
        default_factory=QueueConfig,
        description="Capture → preprocessing queue. block by default: in free run every captured frame "
        "is a part, so a dropped frame would be a rejected part; with back-pressure capture waits, "
        "a live camera's grab thread keeps only its newest frame meanwhile, and a frame never "
        "captured is no part.",
    )
    preprocessed_queue: QueueConfig = Field(
        default_factory=QueueConfig, description="Preprocessing → inference queue."
    )
    detections_queue: QueueConfig = Field(
        default_factory=QueueConfig,
        description="Inference → rules queue (post-processing → rules with postprocess_stage).",
    )
    postprocess_stage: bool = Field(
        False,
        description="Run the engine's post-processing (NMS, masks) in a stage of its own, so it overlaps "
        "the network's forward of the next frame: more frames per second where the forward leaves CPU "
        "time free (a GPU line; a CPU line with engine.cpu_threads below its cores); little on a CPU "
        "whose cores the forward keeps busy. For the YOLO-family engines; other engines ignore it.",
    )
    postprocess_queue: QueueConfig = Field(
        default_factory=QueueConfig, description="Inference → post-processing queue (with postprocess_stage)."
    )
    verdicts_queue: QueueConfig = Field(default_factory=QueueConfig, description="Rules → output queue.")
    batch_size: int = Field(
        1, ge=1, le=64, description="Most frames the inference stage passes to the engine at once."
    )
    batch_max_wait_ms: float = Field(
        2.0,
        ge=0.0,
        le=1000.0,
        description="Longest the inference stage waits for more frames to fill a batch once it holds one.",
    )
    poll_timeout_s: float = Field(
        0.1, gt=0.0, le=5.0, description="Timeout of every queue wait; bounds how fast a stage sees stop."
    )
    shutdown_deadline_s: float = Field(
        10.0,
        gt=0.0,
        le=600.0,
        description="On SIGTERM/SIGINT, time allowed to drain in-flight frames; past it the daemon exits "
        "non-zero.",
    )
    stats_interval_s: float = Field(10.0, ge=0.1, le=3600.0, description="Period of the 'stats' log event.")
    stats_window: int = Field(
        4096,
        ge=16,
        le=1_000_000,
        description="Most per-frame latencies kept per stats period for percentiles.",
    )
    max_frames: int | None = Field(
        None,
        ge=1,
        le=10**9,
        description="Free-run: stop capturing after this many frames (all sources together), drain, and "
        "end (demo, tests); none = run until stopped.",
    )
    trigger_grab_timeout_s: float = Field(
        0.05,
        gt=0.0,
        le=60.0,
        description="Triggered mode: longest wait for a frame from a camera that fails (lost, "
        "reconnecting) after a trigger; past it the part is failed safe (camera lost, 902). Keep it "
        "well inside the PLC pulse window (plc.pulses: 100 ms + 100 ms fail-safe grace by default), "
        "so that part still gets its reject pulse.",
    )
    log_inspections: bool = Field(True, description="Emit one 'inspection' log event per frame.")
