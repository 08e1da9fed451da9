"""Shared test helpers (real small parts, reference builders, waits); fixtures live in conftest.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_until(
    predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.01, *, fail: bool = True
) -> Any:
    """Poll ``predicate`` until truthy and return its value. Past ``timeout`` seconds fail the test,
    or with ``fail=False`` (e.g. on a helper thread, where a failure would not reach the test)
    return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            break
        time.sleep(step)
    if not value and fail:
        pytest.fail(f"condition not met within {timeout} s")
    return value
