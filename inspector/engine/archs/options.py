"""Config sections of the non-YOLO archs (``engine.semantic``, ``engine.panoptic``)."""

from __future__ import annotations

from pydantic import Field

from inspector.section import Section


class SemanticOptions(Section):
    """SegFormer: the per-pixel class map becomes one instance per connected region per class."""

    min_area_px: int = Field(
        16,
        ge=1,
        le=10_000_000,
        description="Smallest region (pixels of the frame, 8-connected) that becomes an instance; smaller "
        "specks of a class are left out.",
    )


class PanopticOptions(Section):
    """DETR panoptic: transformers' ``post_process_panoptic_segmentation`` settings (the class
    score threshold is ``engine.conf``)."""

    mask_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Mask probability from which a pixel is in."
    )
    overlap: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Keep a segment when at least this share of its mask wins the per-pixel vote "
        "(transformers' overlap_mask_area_threshold).",
    )
    stuff: tuple[str, ...] = Field(
        (),
        max_length=1000,
        description="Class names that are 'stuff' (background regions such as a conveyor or a board): all "
        "their segments fuse into one region per class (transformers' label_ids_to_fuse).",
    )
    keep_stuff: bool = Field(
        True,
        description="Report each stuff region as an instance of its class (rules can measure it, or "
        "area_share can use it as its region of interest); false drops stuff regions.",
    )
