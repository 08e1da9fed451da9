"""The exported SAM-family pair on disk: one folder with ``encoder.onnx``, ``decoder.onnx`` and
``sam.json`` (what the pair is). Read with the standard library only: ``inspector check`` and
``model info`` stay quick, and nothing here needs torch or a runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.errors import ModelError

ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
META_FILE = "sam.json"
PAIR_FORMAT = "inspector.sam-pair"
# the SAM family normalises RGB 0-255 images with ImageNet's mean and std
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
PAD_VALUE = 114  # ultralytics' letterbox pads with grey, bottom and right


@dataclass(frozen=True)
class SamPair:
    """What an exported pair is: its files, architecture and fixed input size."""

    folder: Path
    arch: str  # sam-mobile, sam-vit-b, sam2-t, sam2.1-t, ...
    imgsz: int  # the encoder's square input side (1024)
    mask_size: int  # the decoder's low-resolution mask side (256)
    embeddings: tuple[str, ...]  # the encoder outputs the decoder takes, in order
    params: int
    source: str

    @property
    def encoder(self) -> Path:
        return self.folder / ENCODER_FILE

    @property
    def decoder(self) -> Path:
        return self.folder / DECODER_FILE

    def as_dict(self) -> dict[str, Any]:
        """The ``sam.json`` content, and what ``inspector model info`` shows."""
        return {
            "format": PAIR_FORMAT,
            "arch": self.arch,
            "task": "refine",
            "imgsz": [self.imgsz, self.imgsz],
            "mask_size": self.mask_size,
            "embeddings": list(self.embeddings),
            "params": self.params,
            "source": self.source,
            "files": [ENCODER_FILE, DECODER_FILE],
        }


def pair_folder(path: Path) -> Path:
    """The pair's folder: ``path`` itself, or the folder of its encoder/decoder/``sam.json`` file."""
    return path.parent if path.name in (ENCODER_FILE, DECODER_FILE, META_FILE) else path


def is_sam_pair(path: Path) -> bool:
    """Whether ``path`` is (a file of) an exported SAM pair folder."""
    return (pair_folder(path) / META_FILE).is_file()


def read_pair(path: Path) -> SamPair:
    """The pair at ``path`` (its folder or one of its files); ``ModelError`` naming what is wrong."""
    folder = pair_folder(path)
    expected = (
        f"a folder from 'inspector model export --arch sam' ({META_FILE}, {ENCODER_FILE}, {DECODER_FILE})"
    )
    if not folder.is_dir():
        raise ModelError(f"SAM model {path}: does not exist; expected {expected}")
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"SAM model {folder}: cannot read {META_FILE} ({exc}); expected {expected}"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != PAIR_FORMAT:
        raise ModelError(f"SAM model {folder}: {META_FILE} is not an inspector SAM pair; expected {expected}")
    try:
        pair = SamPair(
            folder=folder,
            arch=str(meta["arch"]),
            imgsz=int(meta["imgsz"][0]),
            mask_size=int(meta["mask_size"]),
            embeddings=tuple(str(name) for name in meta["embeddings"]),
            params=int(meta.get("params", 0)),
            source=str(meta.get("source", "")),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelError(f"SAM model {folder}: {META_FILE} is incomplete ({exc!r})") from None
    for file in (pair.encoder, pair.decoder):
        if not file.is_file():
            raise ModelError(f"SAM model {folder}: {file.name} is missing; expected {expected}")
    return pair


def write_meta(pair: SamPair) -> None:
    (pair.folder / META_FILE).write_text(json.dumps(pair.as_dict(), indent=2) + "\n", encoding="utf-8")
