"""Instance masks at the original resolution, built on the device for kept instances only.

A mask is ``coefficients @ prototypes`` (logits at 1/4 input resolution), resized to the
original image, thresholded at logit 0 (= sigmoid 0.5) and cropped to its box. The
resize is the one ultralytics uses for ``retina_masks`` (an integer upsample of the
prototypes, a crop of the letterbox padding, a bilinear resize to the original size).
Both bilinear steps are linear and separable, so they are folded into two matrices,
``rows`` (H, mh) and ``cols`` (W, mw), and only the rows/columns inside each box are
computed: ``mask[y0:y1, x0:x1] = rows[y0:y1] @ logits @ cols[x0:x1].T``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


def bilinear_matrix(n_out: int, n_in: int, scale: float) -> torch.Tensor:
    """(n_out, n_in) weights of 1-D bilinear resampling as ``F.interpolate(align_corners=False)`` does it."""
    dst = torch.arange(n_out, dtype=torch.float64)
    src = ((dst + 0.5) * scale - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    frac = src - i0
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    weights[dst.long(), i0] += 1 - frac
    weights[dst.long(), i1] += frac
    return weights


def upsample_factor(proto_hw: tuple[int, int], orig_hw: tuple[int, int]) -> int:
    """Smallest prototype upsample (1, 2 or 4) that crops the letterbox padding on whole pixels."""
    mh, mw = proto_hw
    h, w = orig_hw
    gain = min(4 * mh / h, 4 * mw / w)
    pad = (4 * mh - max(round(h * gain), 1)) | (4 * mw - max(round(w * gain), 1))
    return 4 // math.gcd(4, pad | pad // 2)


@lru_cache(maxsize=32)
def resize_matrices(proto_hw: tuple[int, int], orig_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, mh) and (W, mw) float64 matrices taking prototype logits to original pixels (CPU, cached)."""
    f = upsample_factor(proto_hw, orig_hw)
    mh, mw = proto_hw
    h, w = orig_hw
    up_h, up_w = mh * f, mw * f
    gain = min(up_h / h, up_w / w)
    content_h, content_w = max(round(h * gain), 1), max(round(w * gain), 1)
    top = round((up_h - content_h) / 2 - 0.1)
    left = round((up_w - content_w) / 2 - 0.1)
    rows = bilinear_matrix(up_h, mh, 1 / f)[top : top + content_h]
    cols = bilinear_matrix(up_w, mw, 1 / f)[left : left + content_w]
    rows = bilinear_matrix(h, content_h, content_h / h) @ rows
    cols = bilinear_matrix(w, content_w, content_w / w) @ cols
    return rows, cols


class Resize:
    """Resize matrices on the device, and each output pixel's first/last contributing prototype pixel."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, device: torch.device) -> None:
        self.rows = rows.float().to(device)
        self.cols = cols.float().to(device)
        self.row_lo, self.row_hi = support_bounds(rows)
        self.col_lo, self.col_hi = support_bounds(cols)


def support_bounds(weights: torch.Tensor) -> tuple[list[int], list[int]]:
    """Per output index, first and one-past-last input index with non-zero weight (monotonic in the index)."""
    nonzero = weights != 0
    idx = torch.arange(weights.shape[1]).expand_as(weights)
    lo = torch.where(nonzero, idx, weights.shape[1]).amin(1)
    hi = torch.where(nonzero, idx, -1).amax(1) + 1
    return lo.tolist(), hi.tolist()


class MaskBuilder:
    """Per-device cache of the resize matrices for the frame sizes seen."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._cache: dict[tuple[tuple[int, int], tuple[int, int]], Resize] = {}

    def resize(self, proto_hw: tuple[int, int], orig_hw: tuple[int, int]) -> Resize:
        key = (proto_hw, orig_hw)
        if key not in self._cache:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[key] = Resize(*resize_matrices(proto_hw, orig_hw), self.device)
        return self._cache[key]

    def build(
        self, protos: torch.Tensor, coeffs: torch.Tensor, boxes: torch.Tensor, orig_hw: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bool masks (K, H, W) of the boxes (N, 4, original pixels) whose mask is not empty (False
        outside a box), and which those are (N,): as ultralytics does, an instance whose mask is
        empty is dropped. Emptiness is known from the box windows, without scanning N x H x W."""
        n = coeffs.shape[0]
        if n == 0 or protos.device.type != "cpu":
            masks, keep = self._build_torch(protos, coeffs, boxes, orig_hw)
            return (masks if bool(keep.all()) else masks[keep]), keep
        # On the CPU the per-box loop runs in numpy (same float32 products, same masks): a torch op
        # costs several microseconds of dispatch, and with ~50 boxes a frame that was half the time.
        # The frame-sized array is made once the kept ones are known: no second copy to drop some.
        # Logits only inside each box's prototype window: a box covers a few percent of the
        # prototypes, and (N, 32) @ (32, mh*mw) for every box was a third of the mask time.
        c, mh, mw = protos.shape
        rs = self.resize((mh, mw), orig_hw)
        rows, cols = rs.rows.numpy(), rs.cols.numpy()
        planes, weights = protos.float().numpy(), coeffs.float().numpy()
        found: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        kept = np.zeros(n, dtype=bool)
        for i, window in enumerate(box_windows(boxes, orig_hw, rs)):
            if window is None:
                continue
            (y0, y1, x0, x1), (ys, ye, xs, xe) = window
            logits = (weights[i] @ planes[:, ys:ye, xs:xe].reshape(c, -1)).reshape(ye - ys, xe - xs)
            inside = rows[y0:y1, ys:ye] @ logits @ cols[x0:x1, xs:xe].T > 0
            if inside.any():
                kept[i] = True
                found.append(((y0, y1, x0, x1), inside))
        frames = np.zeros((len(found), *orig_hw), dtype=bool)
        for k, ((y0, y1, x0, x1), inside) in enumerate(found):
            frames[k, y0:y1, x0:x1] = inside
        return torch.from_numpy(frames), torch.from_numpy(kept)

    def _build_torch(
        self, protos: torch.Tensor, coeffs: torch.Tensor, boxes: torch.Tensor, orig_hw: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = orig_hw
        n = coeffs.shape[0]
        masks = torch.zeros((n, h, w), dtype=torch.bool, device=protos.device)
        nonempty = torch.zeros(n, dtype=torch.bool, device=protos.device)
        if n == 0:
            return masks, nonempty
        c, mh, mw = protos.shape
        rs = self.resize((mh, mw), orig_hw)
        logits = (coeffs.float() @ protos.float().view(c, -1)).view(n, mh, mw)
        for i, window in enumerate(box_windows(boxes, orig_hw, rs)):
            if window is None:
                continue
            (y0, y1, x0, x1), (ys, ye, xs, xe) = window
            block = rs.rows[y0:y1, ys:ye] @ logits[i, ys:ye, xs:xe] @ rs.cols[x0:x1, xs:xe].T
            inside = block > 0
            masks[i, y0:y1, x0:x1] = inside
            nonempty[i] = inside.any()
        return masks, nonempty


Window = tuple[tuple[int, int, int, int], tuple[int, int, int, int]]


def box_windows(boxes: torch.Tensor, orig_hw: tuple[int, int], rs: Resize) -> list[Window | None]:
    """Per box, its output pixel window (y0, y1, x0, x1) and the prototype window (ys, ye, xs, xe)
    that feeds it; None for a box with no whole pixel inside the image."""
    h, w = orig_hw
    # Pixel (x, y) lies in box when x1 <= x < x2 (as ultralytics' crop_mask); bounds as Python ints.
    bounds = boxes.ceil().clamp_(min=0).to(torch.int64).tolist()
    windows: list[Window | None] = []
    for x0, y0, x1, y1 in bounds:
        x1, y1 = min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            windows.append(None)
            continue
        proto = (rs.row_lo[y0], rs.row_hi[y1 - 1], rs.col_lo[x0], rs.col_hi[x1 - 1])
        windows.append(((y0, y1, x0, x1), proto))
    return windows
