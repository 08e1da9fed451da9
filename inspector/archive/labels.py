"""Where the overlay's instance labels go, so that no two of them ever overlap.

Each instance gets a small ``#i`` tag next to its box (the number its reasons quote): the
first spot around the box that covers no other label and no other instance wins, else the
box's own corner when free. An instance whose tag finds no free spot,
and every failing instance, also gets a row in the side legend with a leader line to its box.
Pure geometry on integer rectangles: the drawing is in ``overlay.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Rect = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True, slots=True)
class Tag:
    """One placed label: its rectangle on the canvas, and the box point a leader line goes to."""

    instance: int
    text: str
    rect: Rect
    leader_to: tuple[int, int] | None = None
    scale: float = 0.0  # a tag's font scale (0: the layout's)


def disjoint(a: Rect, b: Rect) -> bool:
    """True when the rectangles share no pixel."""
    return a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def _inside(rect: Rect, area: Rect) -> bool:
    x, y, w, h = rect
    return x >= area[0] and y >= area[1] and x + w <= area[0] + area[2] and y + h <= area[1] + area[3]


def _spots(box: Rect, size: tuple[int, int]) -> list[Rect]:
    """Candidate tag rectangles for a box (x, y, w, h), best first: above, below, right, left
    (outside it, so the mask stays visible), then inside its top-left corner."""
    x, y, w, h = box
    tw, th = size
    return [
        (x, y - th - 1, tw, th),
        (x, y + h + 1, tw, th),
        (x + w + 1, y, tw, th),
        (x - tw - 1, y, tw, th),
        (x + w - tw, y - th - 1, tw, th),
        (x + w - tw, y + h + 1, tw, th),
        (x, y, tw, th),
    ]


def _hits(rect: Rect, others: np.ndarray) -> bool:
    """True when ``rect`` shares a pixel with any row (x, y, w, h) of ``others``."""
    if len(others) == 0:
        return False
    x, y, w, h = rect
    return bool(
        np.any(
            (x < others[:, 0] + others[:, 2])
            & (others[:, 0] < x + w)
            & (y < others[:, 1] + others[:, 3])
            & (others[:, 1] < y + h)
        )
    )


def place_tags(
    boxes: Sequence[Rect],
    sizes: Sequence[tuple[int, int]],
    order: Sequence[int],
    image_area: Rect,
    scale: float = 0.0,
) -> tuple[list[Tag], list[int]]:
    """Tags for the instances in ``order`` (failing ones first), each at the first spot inside
    ``image_area`` that overlaps no tag placed before it and, outside its own box, no other
    instance's box; and the instances left without one (they go to the legend)."""
    all_boxes = np.array(boxes, dtype=np.int64).reshape(-1, 4)
    taken = np.zeros((len(boxes), 4), dtype=np.int64)
    placed: list[Tag] = []
    unplaced: list[int] = []
    for i in order:
        others = np.delete(all_boxes, i, axis=0)
        spots = _spots(boxes[i], sizes[i])
        spot = next(
            (
                r
                for k, r in enumerate(spots)
                if _inside(r, image_area)
                and not _hits(r, taken[: len(placed)])
                and (k == len(spots) - 1 or not _hits(r, others))
            ),
            None,
        )
        if spot is None:
            unplaced.append(i)
            continue
        taken[len(placed)] = spot
        placed.append(Tag(i, f"#{i}", spot, scale=scale))
    return placed, unplaced


def legend_rows(
    entries: Sequence[tuple[int | None, str, tuple[int, int] | None]], area: Rect, row_height: int
) -> tuple[list[Tag], int]:
    """Legend rows (instance or None, text, leader line target or None) stacked top-down inside
    ``area`` (x, y, w, h); and how many entries did not fit (the last row then says so)."""
    x, y, w, h = area
    fit = max(0, h // row_height)
    shown = list(entries) if len(entries) <= fit else list(entries[: max(0, fit - 1)])
    rows = [
        Tag(-1 if i is None else i, text, (x, y + k * row_height, w, row_height), anchor)
        for k, (i, text, anchor) in enumerate(shown)
    ]
    left = len(entries) - len(shown)
    if left and fit:
        rows.append(Tag(-1, f"+{left} more", (x, y + len(shown) * row_height, w, row_height)))
    return rows, left
