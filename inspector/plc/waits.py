"""Bounded waits on asyncio events that leave no task behind (the stage's tasks all use these)."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True when it is set."""
    if event.is_set():
        return True
    try:
        await asyncio.wait_for(event.wait(), timeout=max(0.0, timeout))
    except asyncio.TimeoutError:
        return False
    return True


async def wait_any(events: list[asyncio.Event], timeout: float | None = None) -> None:
    """Return when one of ``events`` is set (or after ``timeout``); leaves no task behind."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
