"""Config section for the watchdogs: memory, liveness, disk, and the CUDA OOM policy."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from inspector.section import Section


class OomAction(str, Enum):
    """What to do when CUDA out-of-memory repeats within the window."""

    DEGRADE_BATCH = "degrade_batch"
    DEGRADE_IMGSZ = "degrade_imgsz"
    EXIT = "exit"


class OomConfig(Section):
    """Handling of CUDA out-of-memory during inference."""

    retry_smaller_batch: bool = Field(
        True, description="After freeing the CUDA cache, retry an OOM'd batch once in halves (batch 1: once)."
    )
    repeat_window_s: float = Field(
        300.0, gt=0, le=86400, description="Window in which OOM events are counted as repeating."
    )
    repeat_count: int = Field(
        3, ge=1, le=1000, description="OOM events within the window that trigger `on_repeat`."
    )
    on_repeat: OomAction = Field(
        OomAction.DEGRADE_BATCH,
        description=(
            "degrade_batch: halve the inference batch size (exit once it is 1); degrade_imgsz: ask the "
            "engine that ran out of memory (the part's recipe's) for a smaller input size (exit if it "
            "cannot); exit: stop with a non-zero code so "
            "systemd restarts the service."
        ),
    )


class WatchdogConfig(Section):
    """Memory and liveness watchdogs, run as scheduled jobs (coalesced, one instance each)."""

    enabled: bool = Field(True, description="Run the watchdog jobs at all.")
    gpu_interval_s: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Seconds between GPU memory checks; each judges the peak allocated since the last.",
    )
    gpu_budget_mib: int | None = Field(
        None, ge=1, le=1_048_576, description="GPU memory budget; null = 90 % of the device's memory."
    )
    memory_summary_every: int = Field(
        1000,
        ge=0,
        le=100_000_000,
        description="Log torch.cuda.memory_summary() every N inferences (0 = never; CUDA only).",
    )
    rss_interval_s: float = Field(10.0, gt=0, le=3600, description="Seconds between host RSS samples.")
    rss_window_s: float = Field(
        3600.0, gt=0, le=7 * 86400, description="Window over which the RSS slope is fitted."
    )
    rss_grace_s: float = Field(
        300.0, ge=0, le=86400, description="Seconds after start before RSS trends count (allocator warm-up)."
    )
    rss_warn_mib_per_h: float = Field(
        50.0, gt=0, le=1e9, description="RSS slope (MiB per hour) that logs a leak warning (degraded)."
    )
    rss_restart_mib_per_h: float = Field(
        200.0,
        gt=0,
        le=1e9,
        description="RSS slope (MiB per hour) that requests a controlled restart between parts.",
    )
    rss_max_mib: int | None = Field(
        None,
        ge=1,
        le=16_777_216,
        description="Absolute RSS that requests a controlled restart; keep below systemd MemoryMax.",
    )
    liveness_interval_s: float = Field(
        1.0, gt=0, le=600, description="Seconds between stage liveness and queue checks."
    )
    stall_after_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="A stage with work queued and no progress this long is failing "
        "(WATCHDOG=1 stops, so systemd's watchdog restarts the daemon).",
    )
    queue_high_water: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Fill fraction of a drop_oldest queue above which the line is degraded "
        "(it is about to lose frames; full block queues are back-pressure, not loss).",
    )
    disk_interval_s: float = Field(30.0, gt=0, le=3600, description="Seconds between free-disk checks.")
    disk_min_free_mib: int = Field(
        1024, ge=0, le=1_073_741_824, description="Free space under which the archive disk is degraded."
    )
    oom: OomConfig = Field(default_factory=OomConfig, description="CUDA out-of-memory policy.")
