"""Bounded stage queues: overflow policies, drop counts, end markers never dropped."""

from __future__ import annotations

import threading

import pytest

from inspector.app.config import OverflowPolicy
from inspector.app.queues import Empty, Full, StageQueue
from inspector.messages import EndOfStream


def test_drop_oldest_counts_and_reports_each_drop() -> None:
    dropped: list[int] = []
    q: StageQueue[int] = StageQueue("q", 2, OverflowPolicy.DROP_OLDEST, on_drop=dropped.append)
    for i in range(5):
        q.put(i)
    assert q.dropped == 3
    assert dropped == [0, 1, 2]
    assert [q.get(0.1), q.get(0.1)] == [3, 4]
    with pytest.raises(Empty):
        q.get(0.01)


def test_block_waits_for_room_with_a_timeout() -> None:
    q: StageQueue[int] = StageQueue("q", 1, OverflowPolicy.BLOCK)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, timeout=0.05)
    assert q.dropped == 0
    consumer = threading.Timer(0.05, lambda: q.get(1.0))
    consumer.start()
    q.put(3, timeout=5.0)  # room appears once the consumer took the first item
    consumer.join()
    assert q.get(0.1) == 3


def test_end_markers_are_never_dropped_and_pass_a_full_queue() -> None:
    q: StageQueue[object] = StageQueue("q", 1, OverflowPolicy.DROP_OLDEST)
    q.put(EndOfStream("a"), control=True)
    q.put(EndOfStream("b"), control=True)  # over capacity: control items always go in
    q.put("frame")
    assert q.dropped == 0
    q.put("newer")  # drops the data item, not a marker
    assert q.dropped == 1
    assert q.drain() == [EndOfStream("a"), EndOfStream("b"), "newer"]


def test_high_water_mark() -> None:
    q: StageQueue[int] = StageQueue("q", 8, OverflowPolicy.BLOCK)
    for i in range(5):
        q.put(i)
    q.get(0.1)
    assert q.high_water == 5 and q.depth() == 4
