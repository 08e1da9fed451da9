"""The one background scheduler for periodic self-checks (watchdogs, health pulses).

Every job is coalesced and limited to one running instance: a check that runs
late must not pile up behind itself. A job that raises is logged and keeps its
schedule; it never kills the scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from inspector.logging import get_logger

log = get_logger("watchdog.scheduler")


class JobScheduler:
    """A small wrapper over apscheduler's BackgroundScheduler with the project's job defaults."""

    def __init__(self, workers: int = 2) -> None:
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._lock = threading.Lock()
        self.runs: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    def add(self, name: str, func: Callable[[], Any], interval_s: float, run_now: bool = True) -> None:
        """Run ``func`` every ``interval_s`` seconds (first run at once unless ``run_now`` is False)."""

        def job() -> None:
            try:
                func()
            except Exception as exc:  # keep the schedule; the next run may succeed
                with self._lock:
                    self.errors[name] = self.errors.get(name, 0) + 1
                log.exception("watchdog_job_error", job=name, error=repr(exc))
            finally:
                with self._lock:
                    self.runs[name] = self.runs.get(name, 0) + 1

        kwargs: dict[str, Any] = {}
        if run_now:
            from datetime import datetime, timezone

            kwargs["next_run_time"] = datetime.now(timezone.utc)
        self._scheduler.add_job(
            job, "interval", seconds=interval_s, id=name, name=name, replace_existing=True, **kwargs
        )

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    def stop(self) -> None:
        """Stop scheduling and wait for running jobs (they are short checks)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def job_names(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]
