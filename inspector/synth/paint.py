"""Painting a board: solder-mask texture, traces, silkscreen, pads, bodies, leads, solder.

Each solder joint is painted into the image and, exactly, into an instance label map
(0 = background, k = joint k-1). Painting order puts the joints last so nothing
covers them; joints never overlap each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inspector.synth.layout import (
    EXCESS_SOLDER,
    INSUFFICIENT_SOLDER,
    MISSING_JOINT,
    SOLDER_BRIDGE,
    Component,
    Joint,
    Pad,
    Rect,
    Side,
)

Color = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours of one board (BGR), drawn once per board so boards differ."""

    mask: Color
    copper: Color
    solder: Color
    silk: Color
    light_dir: tuple[float, float]

    @staticmethod
    def draw(rng: np.random.Generator) -> Palette:
        g = rng.uniform(0.85, 1.15)
        mask = (rng.uniform(30, 70), rng.uniform(95, 135) * g, rng.uniform(20, 55))
        copper = (rng.uniform(50, 80), rng.uniform(125, 160), rng.uniform(195, 235))
        s = rng.uniform(175, 205)
        solder = (s + rng.uniform(-6, 6), s + rng.uniform(-6, 6), s + rng.uniform(-8, 4))
        silk = (rng.uniform(205, 240),) * 3
        angle = rng.uniform(0, 2 * np.pi)
        return Palette(mask, copper, solder, silk, (float(np.cos(angle)), float(np.sin(angle))))  # type: ignore[arg-type]


def paint_board(rng: np.random.Generator, width: int, height: int, u: float, pal: Palette) -> np.ndarray:
    """Solder-mask green with low-frequency mottling, grain, traces and tented vias; float32 BGR."""
    img = np.empty((height, width, 3), np.float32)
    img[:] = pal.mask
    low = cv2.resize(
        rng.normal(0, 1, (6, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC
    )
    img += (low * 6)[..., None]
    trace = tuple(c * 1.25 + 8 for c in pal.mask)
    for _ in range(int(rng.integers(6, 14))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        pts = [(x, y)]
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.5:
                x = int(rng.integers(0, width))
            else:
                y = int(rng.integers(0, height))
            pts.append((x, y))
        cv2.polylines(img, [np.array(pts, np.int32)], False, trace, max(1, round(rng.uniform(2, 5) * u)))
    for _ in range(int(rng.integers(5, 20))):
        c = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, c, max(2, round(4 * u)), trace, -1, cv2.LINE_AA)
        cv2.circle(img, c, max(1, round(1.5 * u)), tuple(v * 0.5 for v in pal.mask), -1, cv2.LINE_AA)
    img += rng.normal(0, 2.5, (height, width, 1)).astype(np.float32)
    return img


def _grow(rect: Rect, d: float) -> Rect:
    x0, y0, x1, y1 = rect
    return (round(x0 - d), round(y0 - d), round(x1 + d), round(y1 + d))


def paint_component(
    rng: np.random.Generator, img: np.ndarray, comp: Component, u: float, pal: Palette
) -> None:
    """Silkscreen outline and label, copper pads, the body, IC leads and chip end caps."""
    xs = [comp.body[0], comp.body[2]] + [v for p in comp.pads for v in (p.rect[0], p.rect[2])]
    ys = [comp.body[1], comp.body[3]] + [v for p in comp.pads for v in (p.rect[1], p.rect[3])]
    outline = _grow((min(xs), min(ys), max(xs), max(ys)), 5 * u)
    cv2.rectangle(img, outline[:2], outline[2:], pal.silk, max(1, round(1.5 * u)), cv2.LINE_AA)
    label = ("U" if comp.kind == "ic" else str(rng.choice(["R", "C", "L"]))) + str(int(rng.integers(1, 99)))
    org = (outline[0], max(10, outline[1] - round(3 * u)))
    _paint_text(img, label, org, u, pal.silk)
    for pad in comp.pads:
        cv2.rectangle(img, pad.rect[:2], (pad.rect[2] - 1, pad.rect[3] - 1), pal.copper, -1)
    bx0, by0, bx1, by1 = comp.body
    if comp.kind == "ic":
        body_color = (rng.uniform(25, 45),) * 3
        cv2.rectangle(img, (bx0, by0), (bx1 - 1, by1 - 1), body_color, -1, cv2.LINE_AA)
        cv2.circle(img, (bx0 + round(8 * u), by0 + round(8 * u)), max(1, round(3 * u)), (70, 70, 70), -1)
        for pad in comp.pads:
            _paint_lead(img, pad, comp.body, u)
    else:
        resistor = rng.random() < 0.5
        body_color = (
            (30, 30, 30)
            if resistor
            else (rng.uniform(100, 125), rng.uniform(118, 135), rng.uniform(128, 145))
        )
        cv2.rectangle(img, (bx0, by0), (bx1 - 1, by1 - 1), body_color, -1, cv2.LINE_AA)
        cap = round(7 * u)
        horizontal = (bx1 - bx0) >= (by1 - by0)
        ends = (
            [(bx0, by0, bx0 + cap, by1), (bx1 - cap, by0, bx1, by1)]
            if horizontal
            else [
                (bx0, by0, bx1, by0 + cap),
                (bx0, by1 - cap, bx1, by1),
            ]
        )
        for x0, y0, x1, y1 in ends:
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), (150, 150, 155), -1)


def _paint_text(img: np.ndarray, text: str, org: tuple[int, int], u: float, color: Color) -> None:
    """Silkscreen text; putText draws only on 8-bit images, so draw a coverage patch and blend."""
    x0, y0 = max(0, org[0]), max(0, org[1] - round(14 * u))
    x1, y1 = min(img.shape[1], org[0] + round(60 * u)), min(img.shape[0], org[1] + round(4 * u))
    if x1 <= x0 or y1 <= y0:
        return
    patch = np.zeros((y1 - y0, x1 - x0), np.uint8)
    scale, thick = 0.35 * u, max(1, round(u))
    cv2.putText(
        patch, text, (org[0] - x0, org[1] - y0), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA
    )
    alpha = patch.astype(np.float32)[..., None] / 255.0
    region = img[y0:y1, x0:x1]
    region[:] = region * (1 - alpha) + np.array(color, np.float32) * alpha


def _paint_lead(img: np.ndarray, pad: Pad, body: Rect, u: float) -> None:
    """A gull-wing lead from the body edge onto the inner half of the pad."""
    x0, y0, x1, y1 = pad.rect
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 4.5 * u
    if pad.body_side in (Side.NORTH, Side.SOUTH):
        ya, yb = (body[3], cy) if pad.body_side is Side.NORTH else (cy, body[1])
        rect = (cx - half, min(ya, yb), cx + half, max(ya, yb))
    else:
        xa, xb = (cx, body[0]) if pad.body_side is Side.EAST else (body[2], cx)
        rect = (min(xa, xb), cy - half, max(xa, xb), cy + half)
    cv2.rectangle(
        img, (round(rect[0]), round(rect[1])), (round(rect[2]), round(rect[3])), (165, 165, 170), -1
    )


def _inner_end(pad: Pad, frac: float) -> Rect:
    """The part of a pad nearest the body, ``frac`` of its length, inset from the sides."""
    x0, y0, x1, y1 = pad.rect
    if pad.body_side in (Side.NORTH, Side.SOUTH):
        inset, length = (x1 - x0) * 0.18, (y1 - y0) * frac
        ya, yb = (y0, y0 + length) if pad.body_side is Side.NORTH else (y1 - length, y1)
        return (round(x0 + inset), round(ya), round(x1 - inset), round(yb))
    inset, length = (y1 - y0) * 0.18, (x1 - x0) * frac
    xa, xb = (x0, x0 + length) if pad.body_side is Side.WEST else (x1 - length, x1)
    return (round(xa), round(y0 + inset), round(xb), round(y1 - inset))


def _shift(rect: Rect, ox: int, oy: int) -> Rect:
    return (rect[0] - ox, rect[1] - oy, rect[2] - ox, rect[3] - oy)


def _joint_window(joint: Joint, shape: tuple[int, int]) -> Rect:
    """A frame window that holds the whole joint, excess ball included."""
    x0 = min(p.rect[0] for p in joint.pads)
    y0 = min(p.rect[1] for p in joint.pads)
    x1 = max(p.rect[2] for p in joint.pads)
    y1 = max(p.rect[3] for p in joint.pads)
    pad = max(x1 - x0, y1 - y0) // 2 + 4
    h, w = shape
    return (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))


def _joint_shape(joint: Joint, window: Rect, u: float) -> tuple[np.ndarray, np.ndarray]:
    """(solder mask, joint instance mask) for one joint, bool, in window coordinates."""
    ox, oy = window[0], window[1]
    shape = (window[3] - oy, window[2] - ox)
    solder = np.zeros(shape, np.uint8)
    pads = np.zeros(shape, np.uint8)
    local = [_shift(p.rect, ox, oy) for p in joint.pads]
    for x0, y0, x1, y1 in local:
        cv2.rectangle(pads, (x0, y0), (x1 - 1, y1 - 1), 1, -1)
    if joint.class_id == INSUFFICIENT_SOLDER:
        x0, y0, x1, y1 = _shift(_inner_end(joint.pads[0], 0.55), ox, oy)
        cv2.ellipse(solder, (((x0 + x1) / 2, (y0 + y1) / 2), (x1 - x0, y1 - y0), 0.0), 1, -1)
    elif joint.class_id == EXCESS_SOLDER:
        x0, y0, x1, y1 = local[0]
        radius = round(0.62 * max(x1 - x0, y1 - y0))
        cv2.circle(solder, (round((x0 + x1) / 2), round((y0 + y1) / 2)), radius, 1, -1)
    elif joint.class_id != MISSING_JOINT:
        for rect in local:
            x0, y0, x1, y1 = _grow(rect, -1.5 * u)
            cv2.rectangle(solder, (x0, y0), (x1 - 1, y1 - 1), 1, -1)
        if joint.class_id == SOLDER_BRIDGE:
            _paint_bridge(solder, local, joint.pads[0].body_side in (Side.NORTH, Side.SOUTH))
    return solder.astype(bool), (solder | pads).astype(bool)


def _paint_bridge(solder: np.ndarray, rects: list[Rect], pins_vertical: bool) -> None:
    """Solder across the gap between two neighbouring pads, over the middle of their length."""
    a, b = rects
    xs = sorted([a[0], a[2], b[0], b[2]])
    ys = sorted([a[1], a[3], b[1], b[3]])
    if pins_vertical:
        mid, span = (ys[0] + ys[3]) / 2, (ys[3] - ys[0]) * 0.3
        cv2.rectangle(solder, (xs[1] - 2, round(mid - span)), (xs[2] + 2, round(mid + span)), 1, -1)
    else:
        mid, span = (xs[0] + xs[3]) / 2, (xs[3] - xs[0]) * 0.3
        cv2.rectangle(solder, (round(mid - span), ys[1] - 2), (round(mid + span), ys[2] + 2), 1, -1)


def paint_joints(
    rng: np.random.Generator, img: np.ndarray, joints: list[Joint], u: float, pal: Palette
) -> np.ndarray:
    """Paint every joint's solder; return the instance label map (int32, 0 = background)."""
    h, w = img.shape[:2]
    labels = np.zeros((h, w), np.int32)
    for k, joint in enumerate(joints):
        window = _joint_window(joint, (h, w))
        x0, y0, x1, y1 = window
        solder, instance = _joint_shape(joint, window, u)
        sub = labels[y0:y1, x0:x1]
        sub[instance & (sub == 0)] = k + 1
        if solder.any():
            _shade_solder(rng, img[y0:y1, x0:x1], solder, joint.class_id, pal)
    return labels


def _shade_solder(
    rng: np.random.Generator, img: np.ndarray, solder: np.ndarray, class_id: int, pal: Palette
) -> None:
    """Dome shading from the distance to the solder edge, plus a specular spot toward the light."""
    ys, xs = np.nonzero(solder)
    y0, y1, x0, x1 = max(ys.min() - 2, 0), ys.max() + 3, max(xs.min() - 2, 0), xs.max() + 3
    crop = solder[y0:y1, x0:x1].astype(np.uint8)
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    dome = np.sqrt(dist / max(float(dist.max()), 1e-3))
    ch, cw = crop.shape
    gy, gx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    lx, ly = pal.light_dir
    sx, sy = cw / 2 + lx * cw * 0.22, ch / 2 + ly * ch * 0.22
    spot_r = max(2.0, 0.18 * min(cw, ch))
    spec = np.exp(-((gx - sx) ** 2 + (gy - sy) ** 2) / (2 * spot_r**2))
    base = np.array(pal.solder, np.float32)
    if class_id == INSUFFICIENT_SOLDER:
        shade = base * 0.62 * (0.8 + 0.2 * dome[..., None]) + rng.normal(0, 9, (ch, cw, 1)).astype(np.float32)
    elif class_id == EXCESS_SOLDER:
        shade = base * (0.45 + 0.6 * dome[..., None]) + 90 * spec[..., None]
    else:
        shade = base * (0.7 + 0.35 * dome[..., None]) + 45 * spec[..., None]
    alpha = cv2.GaussianBlur(crop.astype(np.float32), (3, 3), 0.7)[..., None] * crop[..., None]
    region = img[y0:y1, x0:x1]
    region[:] = region * (1 - alpha) + shade * alpha
