"""The overlay picture of one part, drawn for an operator to read at a glance.

Above the image a banner: the verdict, the first reason's rule and code, then part id, seq,
camera and UTC time. On the image each instance is numbered ``#i`` as its reasons quote it:
failing instances strongly tinted, outlined and tagged in red; the others faintly tinted. To
the right a legend: the part's reasons, each failing instance with its reason, and any instance
whose tag found no free spot, each row with a leader line to its box. Labels never overlap
(``labels.py`` places them). OpenCV only, and per-instance work stays inside each box.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.archive.labels import Rect, Tag, legend_rows, place_tags
from inspector.archive.overlay import box_window, colour
from inspector.messages import Detections, FrameMsg, Reason, Verdict, VerdictCode

FONT = cv2.FONT_HERSHEY_SIMPLEX
FAIL_BGR = (40, 40, 235)
_BANNER_BGR = {
    VerdictCode.PASS: (60, 140, 60),
    VerdictCode.REJECT: (30, 30, 190),
    VerdictCode.ALARM: (0, 130, 230),
}
_FAILSAFE_BGR = (140, 40, 150)
_FAINT = 0.3  # share of the configured mask opacity a good instance gets


@dataclass(frozen=True, slots=True)
class Layout:
    """Sizes that follow the image width, so a 4K frame's text stays as readable as a VGA one's."""

    scale: float
    line: int  # banner line height
    tag: int  # tag and legend row height
    legend_width: int

    @classmethod
    def for_width(cls, width: int) -> Layout:
        scale = min(1.2, max(0.4, width / 1400))
        (_, text_h), base = cv2.getTextSize("#0", FONT, scale, 1)
        return cls(scale, int((text_h + base) * 1.5) + 4, text_h + base + 4, max(220, int(width * 0.35)))


def banner_lines(msg: FrameMsg, now: float) -> tuple[str, str]:
    """What the banner says: verdict, rule and code; then part, seq, camera and UTC time."""
    verdict = msg.verdict
    if verdict is None:
        head = "NO VERDICT"
    else:
        head = verdict.code.name + (" (fail-safe)" if verdict.failsafe else "")
        if verdict.reasons:
            first = verdict.reasons[0]
            more = len(verdict.reasons) - 1
            head += f"  {first.rule}  code {first.code}" + (f"  (+{more} more)" if more else "")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    return (
        head,
        f"part {msg.part_id if msg.part_id is not None else '-'}  seq {msg.seq}  {msg.source_id}  {stamp}",
    )


def _reason_text(reason: Reason) -> str:
    measured = "" if reason.value is None else f" {reason.value:.4g}"
    limit = "" if reason.limit is None else f" limit {reason.limit:.4g}"
    return f"{reason.rule}:{reason.code}{measured}{limit}"


def _failing(verdict: Verdict | None) -> dict[int, Reason]:
    """The first reason of each instance a reason names."""
    found: dict[int, Reason] = {}
    for reason in verdict.reasons if verdict else ():
        if reason.instance is not None:
            found.setdefault(reason.instance, reason)
    return found


def _text(canvas: np.ndarray, text: str, rect: Rect, scale: float, fg: tuple[int, int, int]) -> None:
    x, y, _, h = rect
    (_, text_h), _ = cv2.getTextSize(text, FONT, scale, 1)
    cv2.putText(canvas, text, (x + 2, y + (h + text_h) // 2), FONT, scale, fg, 1, cv2.LINE_AA)


def _fit(text: str, width: int, scale: float) -> str:
    """The text shortened with '..' until it fits ``width`` pixels."""
    while len(text) > 3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
        text = text[:-3] + ".."
    return text


def _tint_masks(image: np.ndarray, det: Detections, alpha: float, failing: dict[int, Reason]) -> None:
    """Each mask tinted inside its box: failing ones strongly in red and outlined, others faintly
    in their class colour (tensors moved to the CPU once, not per instance)."""
    if len(det) == 0 or tuple(det.masks.shape[-2:]) != image.shape[:2]:
        return
    masks = det.masks.detach().to("cpu")
    class_ids = det.class_ids.detach().to("cpu").tolist()
    for i, box in enumerate(det.boxes.detach().to("cpu").numpy()):
        rows, cols = box_window(box, *image.shape[:2])
        mask = masks[i, rows, cols].numpy()
        region = image[rows, cols]
        strong = i in failing
        bgr = np.array(FAIL_BGR if strong else colour(int(class_ids[i])), np.float32)
        share = alpha if strong else alpha * _FAINT
        region[mask] = (region[mask].astype(np.float32) * (1 - share) + bgr * share).astype(np.uint8)
        if strong:
            outline, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(region, outline, -1, FAIL_BGR, 2)


def _instance_rects(det: Detections | None, top: int) -> list[Rect]:
    if det is None or len(det) == 0:
        return []
    boxes = det.boxes.detach().to("cpu").numpy()
    return [
        (
            round(float(x1)),
            top + round(float(y1)),
            max(1, round(float(x2 - x1))),
            max(1, round(float(y2 - y1))),
        )
        for x1, y1, x2, y2 in boxes
    ]


def tag_scale(rects: Sequence[Rect], scale: float) -> float:
    """The tags' font scale: the layout's, or smaller (not below 0.3) on a board whose typical
    box is narrower than its widest number, so each tag still fits inside its own box."""
    if not rects:
        return scale
    widest = cv2.getTextSize(f"#{len(rects) - 1}", FONT, scale, 1)[0][0] + 4
    typical = float(np.median([w for _, _, w, _ in rects]))
    return scale if widest <= typical else max(0.3, scale * typical / widest)


def layout_labels(msg: FrameMsg, layout: Layout, canvas_size: tuple[int, int]) -> tuple[list[Tag], list[Tag]]:
    """The tags on the image and the legend rows, in canvas pixels (banner above, legend right)."""
    det, failing = msg.detections, _failing(msg.verdict)
    height, width = msg.image.shape[:2]
    top = 2 * layout.line
    rects = _instance_rects(det, top)
    scale = tag_scale(rects, layout.scale)
    (_, text_h), base = cv2.getTextSize("#0", FONT, scale, 1)
    sizes = [
        (cv2.getTextSize(f"#{i}", FONT, scale, 1)[0][0] + 4, text_h + base + 3) for i in range(len(rects))
    ]
    order = sorted(range(len(rects)), key=lambda i: (i not in failing, i))
    tags, unplaced = place_tags(rects, sizes, order, (0, top, width, height), scale)
    entries: list[tuple[int | None, str, tuple[int, int] | None]] = [
        (None, _reason_text(r), None)
        for r in (msg.verdict.reasons if msg.verdict else ())
        if r.instance is None
    ]
    names = det.names if det is not None else ()
    for i in [*[i for i in order if i in failing], *[i for i in unplaced if i not in failing]]:
        cid = int(det.class_ids[i]) if det is not None else -1
        name = names[cid] if 0 <= cid < len(names) else str(cid)
        x, y, w, h = rects[i]
        entries.append((i, f"#{i} {name}", (x + w, y + h // 2)))
        if i in failing:  # its reason on the next row, indented
            entries.append((i, f"   {_reason_text(failing[i])}", None))
    area = (width + 4, top + 2, canvas_size[0] - width - 6, canvas_size[1] - top - 4)
    rows, _ = legend_rows(entries, area, layout.tag + 2)
    return tags, rows


def capture_time(msg: FrameMsg) -> float:
    """The wall-clock (epoch) time the frame was captured: its monotonic capture time moved by
    how long ago that was, so the banner shows when the part passed, not when it was archived."""
    return time.time() - max(0.0, time.monotonic() - msg.t_capture)


def overlay_image(msg: FrameMsg, alpha: float, now: float | None = None) -> np.ndarray:
    """The operator's picture of the part: banner, numbered instances, legend (BGR uint8);
    ``now``: the banner's time (epoch seconds), else the frame's capture time."""
    height, width = msg.image.shape[:2]
    layout = Layout.for_width(width)
    top = 2 * layout.line
    canvas = np.full((top + height, width + layout.legend_width, 3), 32, np.uint8)
    image = canvas[top:, :width]
    image[:] = msg.image
    det, failing = msg.detections, _failing(msg.verdict)
    rects = _instance_rects(det, top)
    if det is not None:
        _tint_masks(image, det, alpha, failing)
    for i, (x, y, w, h) in enumerate(rects):
        cv2.rectangle(
            canvas,
            (x, y),
            (x + w, y + h),
            FAIL_BGR if i in failing else (170, 170, 170),
            2 if i in failing else 1,
        )
    _draw_banner(canvas, msg, layout, capture_time(msg) if now is None else now)
    tags, rows = layout_labels(msg, layout, (canvas.shape[1], canvas.shape[0]))
    _draw_tags(canvas, tags, failing, layout)
    _draw_legend(canvas, rows, failing, layout)
    return canvas


def _draw_banner(canvas: np.ndarray, msg: FrameMsg, layout: Layout, now: float) -> None:
    verdict = msg.verdict
    bgr = (
        _FAILSAFE_BGR
        if verdict is not None and verdict.failsafe
        else _BANNER_BGR.get(verdict.code if verdict else VerdictCode.REJECT, _FAILSAFE_BGR)
    )
    width = canvas.shape[1]
    canvas[: 2 * layout.line] = bgr
    for k, line in enumerate(banner_lines(msg, now)):
        scale = layout.scale * (1.25 if k == 0 else 1.0)
        _text(
            canvas, _fit(line, width, scale), (4, k * layout.line, width, layout.line), scale, (255, 255, 255)
        )


def _draw_tags(canvas: np.ndarray, tags: Sequence[Tag], failing: dict[int, Reason], layout: Layout) -> None:
    for tag in tags:
        x, y, w, h = tag.rect
        strong = tag.instance in failing
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), FAIL_BGR if strong else (40, 40, 40), -1)
        fg = (255, 255, 255) if strong else (200, 200, 200)
        _text(canvas, tag.text, tag.rect, tag.scale or layout.scale, fg)


def _draw_legend(canvas: np.ndarray, rows: Sequence[Tag], failing: dict[int, Reason], layout: Layout) -> None:
    for row in rows:
        x, y, w, h = row.rect
        strong = row.instance in failing or row.instance < 0
        if row.leader_to is not None:
            colour_ = FAIL_BGR if row.instance in failing else (150, 150, 150)
            cv2.line(canvas, (x - 2, y + h // 2), row.leader_to, colour_, 1, cv2.LINE_AA)
        fg = (255, 255, 255) if strong else (190, 190, 190)
        _text(canvas, _fit(row.text, w, layout.scale), row.rect, layout.scale, fg)
