"""Bounded queues between stages, each with an overflow policy and a drop counter."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from inspector.app.config import OverflowPolicy, QueueConfig
from inspector.messages import EndOfStream

T = TypeVar("T")


class Empty(Exception):
    """``get`` timed out with nothing queued."""


class Full(Exception):
    """``put`` on a BLOCK queue timed out."""


class StageQueue(Generic[T]):
    """A bounded FIFO. BLOCK makes the producer wait; DROP_OLDEST drops (and counts) the oldest item.

    ``on_drop`` sees each dropped item, so a frame of a triggered part can still be
    failed safe downstream. Control items (end markers) are always accepted.
    """

    def __init__(
        self,
        name: str,
        size: int,
        policy: OverflowPolicy,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        self.name = name
        self.size = size
        self.policy = policy
        self._on_drop = on_drop
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.high_water = 0

    @classmethod
    def from_config(
        cls, name: str, cfg: QueueConfig, on_drop: Callable[[T], None] | None = None
    ) -> StageQueue[T]:
        return cls(name, cfg.size, cfg.overflow, on_drop)

    def put(self, item: T, timeout: float | None = None, control: bool = False) -> None:
        """Queue ``item``; raises Full when a BLOCK queue stays full past ``timeout``."""
        dropped: T | None = None
        with self._cond:
            if not control and len(self._items) >= self.size:
                if self.policy is OverflowPolicy.DROP_OLDEST:
                    dropped = self._pop_oldest_data()
                else:
                    self._wait_for_room(timeout)
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._cond.notify_all()
        if dropped is not None and self._on_drop is not None:
            self._on_drop(dropped)

    def get(self, timeout: float) -> T:
        """The oldest item; raises Empty after ``timeout`` seconds with nothing queued."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                raise Empty
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def drain(self) -> list[T]:
        """Everything still queued, removed (used at shutdown to fail safe leftovers)."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
            self._cond.notify_all()
            return items

    def depth(self) -> int:
        with self._cond:
            return len(self._items)

    def _wait_for_room(self, timeout: float | None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        while len(self._items) >= self.size:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise Full
            self._cond.wait(left)

    def _pop_oldest_data(self) -> T | None:
        for index, queued in enumerate(self._items):
            if not isinstance(queued, EndOfStream):
                del self._items[index]
                self.dropped += 1
                return queued
        return None  # only end markers queued: accept the item over capacity
