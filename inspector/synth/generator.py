"""``BoardGenerator``: deterministic synthetic PCB frames with exact solder-joint instances.

``BoardGenerator((640, 480), seed).render(index)`` returns the BGR uint8 frame and its
instances; the same (size, seed, index, policy) always gives the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inspector.synth.layout import (
    CLASS_NAMES,
    DEFECT_CLASS_IDS,
    DefectPolicy,
    assign_joints,
    place_components,
    unit,
)
from inspector.synth.paint import Palette, paint_board, paint_component, paint_joints

MIN_INSTANCE_AREA_PX = 12  # a joint warped almost out of frame is dropped from the truth
WARP_MARGIN = 0.1  # board painted this fraction of the frame's longer side beyond each edge


@dataclass(frozen=True, eq=False)
class Instance:
    """One solder joint in a rendered frame: its class and exact full-frame mask."""

    class_id: int
    mask: np.ndarray  # (H, W) bool

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.class_id]

    @property
    def is_defect(self) -> bool:
        return self.class_id in DEFECT_CLASS_IDS

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 with exclusive ends, in frame pixels."""
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def board_rejected(instances: tuple[Instance, ...]) -> bool:
    """The demo rule on ground truth: a board with any defect joint is rejected."""
    return any(inst.is_defect for inst in instances)


class BoardGenerator:
    """Synthetic PCB solder-joint frames of one size, reproducible from ``seed``."""

    def __init__(
        self, size: tuple[int, int] = (640, 480), seed: int = 0, policy: DefectPolicy | None = None
    ) -> None:
        width, height = size
        if width < 64 or height < 64:
            raise ValueError(f"frame size {width}x{height} too small; need at least 64x64")
        self.size = (int(width), int(height))
        self.seed = int(seed)
        self.policy = policy or DefectPolicy()

    @property
    def names(self) -> tuple[str, ...]:
        return CLASS_NAMES

    def render(self, index: int) -> tuple[np.ndarray, tuple[Instance, ...]]:
        """Frame ``index`` of this generator: (BGR uint8 image, joint instances)."""
        rng = np.random.default_rng([self.seed, int(index)])
        width, height = self.size
        u = unit(width, height)
        pal = Palette.draw(rng)
        # The board extends past the frame so the camera warp never brings in unpainted border.
        margin = round(WARP_MARGIN * max(width, height))
        img = paint_board(rng, width + 2 * margin, height + 2 * margin, u, pal)
        comps = place_components(rng, width, height, origin=(margin, margin))
        for comp in comps:
            paint_component(rng, img, comp, u, pal)
        joints = assign_joints(rng, comps, self.policy)
        labels = paint_joints(rng, img, joints, u, pal)
        img, labels = _camera_warp(rng, img, labels, margin)
        img = _camera_effects(rng, img, u)
        instances = []
        for k, joint in enumerate(joints):
            mask = labels == k + 1
            if int(mask.sum()) >= MIN_INSTANCE_AREA_PX:
                instances.append(Instance(joint.class_id, mask))
        return img, tuple(instances)


def _camera_warp(
    rng: np.random.Generator, img: np.ndarray, labels: np.ndarray, margin: int
) -> tuple[np.ndarray, np.ndarray]:
    """Small rotation, scale and offset of the board under the camera, cropping the margin;
    labels follow exactly."""
    h, w = labels.shape[0] - 2 * margin, labels.shape[1] - 2 * margin
    angle = rng.uniform(-3.0, 3.0)
    scale = rng.uniform(0.97, 1.03)
    m = cv2.getRotationMatrix2D((margin + w / 2, margin + h / 2), angle, scale)
    m[:, 2] += (rng.uniform(-0.02, 0.02) * w - margin, rng.uniform(-0.02, 0.02) * h - margin)
    img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    labels = cv2.warpAffine(
        labels.astype(np.float32), m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
    ).astype(np.int32)
    return img, labels


def _camera_effects(rng: np.random.Generator, img: np.ndarray, u: float) -> np.ndarray:
    """Uneven lighting, colour cast, focus blur and sensor noise; returns uint8 BGR."""
    h, w = img.shape[:2]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = gx / w - 0.5, gy / h - 0.5
    gain = rng.uniform(0.75, 1.2) * (1 + rng.uniform(-0.25, 0.25) * gx + rng.uniform(-0.25, 0.25) * gy)
    gain *= 1 - rng.uniform(0, 0.35) * (gx**2 + gy**2)
    cast = rng.uniform(0.93, 1.07, 3).astype(np.float32)
    img = img * gain[..., None] * cast
    if rng.random() < 0.6:
        sigma = rng.uniform(0.3, 1.3) * u
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = img + rng.normal(0, rng.uniform(1.5, 7.0), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)
