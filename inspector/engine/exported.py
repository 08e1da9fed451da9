"""What an export made by ultralytics says about itself, whatever its format.

ultralytics writes the same metadata into every export: TorchScript's ``config.txt`` (JSON),
ONNX ``metadata_props`` (each value ``str()`` of the Python value), the ``metadata.yaml`` beside
an OpenVINO IR and the JSON header of a TensorRT ``.engine``. Each loader turns its own into a
dict of Python values; ``checked_metadata`` and ``export_metadata`` read the fields the engine
needs and refuse what it cannot run, by name.

An end-to-end export (YOLO26, ``nms=False``) returns (B, 300, 6+nm) rows, already the head's
top-k; ``rows_as_pairs`` turns them into what the engine's top-k selection reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inspector.engine.checkpoint import imgsz_of, names_of, reason_of
from inspector.errors import ModelError

TASK_NAMES = {"detect": "detection", "pose": "pose", "obb": "OBB", "classify": "classification"}
PRETTY_ARCH = re.compile(r"\b(YOLOv8|YOLO11|YOLO26|FastSAM)-?([nslmx])?", re.IGNORECASE)


@dataclass(frozen=True)
class ExportMetadata:
    """What the exporter says about the graph."""

    names: tuple[str, ...]
    imgsz: tuple[int, int]
    stride: int
    batch: int
    version: str
    head: str  # the head's class name ("" in exports older than ultralytics 8.4)
    end2end: bool  # the graph returns the one-to-one head's ready rows (nms=False export)
    description: str = ""  # "Ultralytics YOLO11n-seg model trained on ..."


def family_named_in(description: str) -> str:
    """'YOLO11' from 'Ultralytics YOLO11n-seg model ...' ('' when it names none)."""
    found = PRETTY_ARCH.search(description)
    return found.group(1) if found else ""


def checked_metadata(path: Path, meta: Any, how: str) -> dict[str, Any]:
    """``meta`` if it describes a segmentation export inspector can run; ``how`` says how to make
    one (``format=onnx``), for the error."""
    if not isinstance(meta, dict) or not meta:
        raise ModelError(f"model file {path}: an export without ultralytics metadata; export it with {how}")
    task = str(meta.get("task", "segment"))
    if task != "segment":
        family = family_named_in(str(meta.get("description", ""))) or "YOLO"
        what = TASK_NAMES.get(task, repr(task))
        raise ModelError(f"model file {path}: a {family} {what} model: inspector needs a segmentation model")
    args = meta.get("args") or {}
    if isinstance(args, dict) and args.get("nms"):
        raise ModelError(
            f"model file {path}: exported with nms=True, which is not supported; export without it"
        )
    return meta


def export_metadata(path: Path, meta: Mapping[str, Any], how: str) -> ExportMetadata:
    """Typed fields; a malformed value is a ModelError naming the file."""
    try:
        names_raw = meta.get("names", {})
        if isinstance(names_raw, dict):
            names_raw = {int(k): v for k, v in names_raw.items()}
        imgsz = meta.get("imgsz", 640)
        sides = imgsz if isinstance(imgsz, (list, tuple)) else [imgsz]
        if len(sides) not in (1, 2) or not all(isinstance(side, int) and side > 0 for side in sides):
            # the graph was traced at this size: a guessed one would fail at the first frame
            raise ValueError(f"imgsz {imgsz!r:.40} is not an input size")
        return ExportMetadata(
            names=names_of(names_raw, len(names_raw)),
            imgsz=imgsz_of(list(sides)),
            stride=int(meta.get("stride", 32)),
            batch=int(meta.get("batch", 1) or 1),
            version=str(meta.get("version", "")),
            head=str(meta.get("head", "")),
            end2end=meta.get("end2end", False) is True,
            description=str(meta.get("description", "")),
        )
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"model file {path}: its export metadata is malformed ({reason_of(exc)}); "
            f"export it again with {how}"
        ) from None


def rows_as_pairs(rows: torch.Tensor, nc: int) -> torch.Tensor:
    """(B, K, 6+nm) ready rows as the decoded one-to-one output (B, 4+nc+nm, K) the engine's
    top-k selection reads: each row an anchor whose only nonzero class score is its own. With
    K rows already chosen, that selection keeps them all in score order and leaves exactly
    predict's filter (score > conf, wanted classes, max_det)."""
    scores = torch.zeros(*rows.shape[:2], nc, dtype=rows.dtype, device=rows.device)
    scores.scatter_(2, rows[..., 5:6].long().clamp(0, nc - 1), rows[..., 4:5])
    return torch.cat((rows[..., :4], scores, rows[..., 6:]), 2).transpose(1, 2)
