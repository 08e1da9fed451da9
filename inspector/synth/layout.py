"""Where things sit on a synthetic board: components, their pads, and what each joint is.

Geometry is in frame pixels before the global camera warp, axis-aligned. Sizes scale
with the frame (unit ``u`` = shorter side / 480), so a board rendered at 320x240 looks
like the same board rendered at 640x480 and downscaled.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "good_joint",
    "solder_bridge",
    "insufficient_solder",
    "excess_solder",
    "missing_joint",
)
GOOD_JOINT = 0
SOLDER_BRIDGE = 1
INSUFFICIENT_SOLDER = 2
EXCESS_SOLDER = 3
MISSING_JOINT = 4
DEFECT_CLASS_IDS: frozenset[int] = frozenset(
    {SOLDER_BRIDGE, INSUFFICIENT_SOLDER, EXCESS_SOLDER, MISSING_JOINT}
)

CELL_UNITS = 160.0  # one component per grid cell of this many units


class Side(Enum):
    """Side of a pad on which the component body (and its lead) lies."""

    NORTH = "n"
    SOUTH = "s"
    EAST = "e"
    WEST = "w"


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive end)


@dataclass(frozen=True, slots=True)
class Pad:
    rect: Rect
    body_side: Side
    has_lead: bool  # an IC gull-wing foot lies on the pad; chips have end caps instead


@dataclass(frozen=True, slots=True)
class Component:
    kind: str  # "ic" or "chip"
    body: Rect
    pads: tuple[Pad, ...]
    rows: tuple[tuple[int, ...], ...]  # pad indices of each pin row, in order (bridges join neighbours)


@dataclass(frozen=True, slots=True)
class Joint:
    """One solder joint instance: its class and the pads it covers (two for a bridge)."""

    class_id: int
    pads: tuple[Pad, ...]


@dataclass(frozen=True, slots=True)
class DefectPolicy:
    """How often boards carry defects, and how many."""

    defect_board_rate: float = 0.5
    max_defects: int = 3


def unit(width: int, height: int) -> float:
    return min(width, height) / 480.0


def _transpose(rect: Rect, ox: int, oy: int) -> Rect:
    x0, y0, x1, y1 = rect
    return (ox + (y0 - oy), oy + (x0 - ox), ox + (y1 - oy), oy + (x1 - ox))


_TRANSPOSED_SIDE = {
    Side.NORTH: Side.WEST,
    Side.SOUTH: Side.EAST,
    Side.WEST: Side.NORTH,
    Side.EAST: Side.SOUTH,
}


def _ic(rng: np.random.Generator, cx: float, cy: float, u: float, max_span: float) -> Component:
    pitch, pad_w, pad_l, body_h = 34 * u, 18 * u, 28 * u, 44 * u
    n = int(rng.integers(2, 5))
    while n > 2 and n * pitch + 10 * u > max_span:
        n -= 1
    body_w = n * pitch + 10 * u
    bx0, by0 = cx - body_w / 2, cy - body_h / 2
    pads: list[Pad] = []
    rows: list[tuple[int, ...]] = []
    for side, py0 in ((Side.SOUTH, by0 - 4 * u - pad_l), (Side.NORTH, by0 + body_h + 4 * u)):
        row = []
        for i in range(n):
            px0 = bx0 + 5 * u + i * pitch + (pitch - pad_w) / 2
            rect = (round(px0), round(py0), round(px0 + pad_w), round(py0 + pad_l))
            row.append(len(pads))
            pads.append(Pad(rect, side, has_lead=True))
        rows.append(tuple(row))
    body = (round(bx0), round(by0), round(bx0 + body_w), round(by0 + body_h))
    return Component("ic", body, tuple(pads), tuple(rows))


def _chip(rng: np.random.Generator, cx: float, cy: float, u: float) -> Component:
    size = float(rng.uniform(0.9, 1.15))
    body_l, body_w, pad_l, pad_w = 38 * u * size, 24 * u * size, 24 * u * size, 30 * u * size
    bx0, by0 = cx - body_l / 2, cy - body_w / 2
    left = (bx0 - pad_l + 8 * u, cy - pad_w / 2, bx0 + 8 * u, cy + pad_w / 2)
    right = (bx0 + body_l - 8 * u, cy - pad_w / 2, bx0 + body_l + pad_l - 8 * u, cy + pad_w / 2)
    pads = (
        Pad(tuple(round(v) for v in left), Side.EAST, has_lead=False),  # type: ignore[arg-type]
        Pad(tuple(round(v) for v in right), Side.WEST, has_lead=False),  # type: ignore[arg-type]
    )
    body = (round(bx0), round(by0), round(bx0 + body_l), round(by0 + body_w))
    return Component("chip", body, pads, ())


def _transposed(comp: Component, cx: float, cy: float) -> Component:
    ox, oy = round(cx), round(cy)
    pads = tuple(
        Pad(_transpose(p.rect, ox, oy), _TRANSPOSED_SIDE[p.body_side], p.has_lead) for p in comp.pads
    )
    return Component(comp.kind, _transpose(comp.body, ox, oy), pads, comp.rows)


def place_components(
    rng: np.random.Generator, width: int, height: int, origin: tuple[int, int] = (0, 0)
) -> list[Component]:
    """One component (or none) per grid cell of the width x height area at ``origin``,
    jittered, randomly IC or chip, either orientation."""
    u = unit(width, height)
    cols = max(1, round(width / (CELL_UNITS * u)))
    rows = max(1, round(height / (CELL_UNITS * u)))
    cw, ch = width / cols, height / rows
    comps: list[Component] = []
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.12:
                continue
            cx = origin[0] + (c + 0.5) * cw + rng.uniform(-0.06, 0.06) * cw
            cy = origin[1] + (r + 0.5) * ch + rng.uniform(-0.06, 0.06) * ch
            vertical = rng.random() < 0.4
            span = (ch if vertical else cw) - 14 * u
            comp = _ic(rng, cx, cy, u, span) if rng.random() < 0.5 else _chip(rng, cx, cy, u)
            comps.append(_transposed(comp, cx, cy) if vertical else comp)
    return comps


def assign_joints(rng: np.random.Generator, comps: list[Component], policy: DefectPolicy) -> list[Joint]:
    """Every pad gets a joint; on a defective board 1..max_defects of them become defects."""
    pads = [p for comp in comps for p in comp.pads]
    classes = [GOOD_JOINT] * len(pads)
    bridged: dict[int, int] = {}  # first pad index -> second pad index
    index_of = {id(p): i for i, p in enumerate(pads)}
    neighbours = [
        (index_of[id(comp.pads[a])], index_of[id(comp.pads[b])])
        for comp in comps
        for row in comp.rows
        for a, b in itertools.pairwise(row)
    ]
    if pads and rng.random() < policy.defect_board_rate:
        for _ in range(int(rng.integers(1, policy.max_defects + 1))):
            cls = int(rng.integers(1, len(CLASS_NAMES)))
            if cls == SOLDER_BRIDGE:
                free = [
                    (a, b) for a, b in neighbours if classes[a] == GOOD_JOINT and classes[b] == GOOD_JOINT
                ]
                if free:
                    a, b = free[int(rng.integers(len(free)))]
                    classes[a] = classes[b] = SOLDER_BRIDGE
                    bridged[a] = b
                    continue
                cls = int(rng.integers(2, len(CLASS_NAMES)))
            good = [i for i, k in enumerate(classes) if k == GOOD_JOINT]
            if good:
                classes[good[int(rng.integers(len(good)))]] = cls
    second = set(bridged.values())
    joints = []
    for i, pad in enumerate(pads):
        if i in second:
            continue
        covered = (pad, pads[bridged[i]]) if i in bridged else (pad,)
        joints.append(Joint(classes[i], covered))
    return joints
