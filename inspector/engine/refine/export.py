"""``inspector model export mobile_sam.pt --arch sam --format onnx``: an ultralytics SAM-family
``.pt`` (MobileSAM, SAM ViT-B/L/H, SAM 2 / 2.1) → a folder with the encoder and decoder ONNX and
``sam.json``. The weights are read with ``torch.load(weights_only=True)`` (no pickled code) and the
architecture from their keys, never from the file name; ultralytics' builders give the modules
(export time only: the ``reference`` extra). Both graphs are run with ONNX Runtime against the
eager modules on the same input and the largest difference is reported; the folder is written
only after that check."""

from __future__ import annotations

import argparse
import importlib
import pickle
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inspector.engine.backends.extras import require
from inspector.engine.refine.graphs import (
    Sam2BoxDecoder,
    Sam2Encoder,
    SamBoxDecoder,
    SamEncoder,
    constant_pos_embed,
    static_layer_norm,
)
from inspector.engine.refine.pair import DECODER_FILE, ENCODER_FILE, SamPair, write_meta
from inspector.errors import ModelError

OPSET = 17
IMGSZ = 1024
MASK_SIZE = 256
SAM2_SCALES = {(96, 12): "t", (96, 16): "s", (112, 24): "b", (144, 48): "l"}  # (dim, blocks) → scale
VIT_SCALES = {768: "b", 1024: "l", 1280: "h"}
BUILDERS = {
    "sam-mobile": "build_mobile_sam",
    "sam-vit-b": "build_sam_vit_b",
    "sam-vit-l": "build_sam_vit_l",
    "sam-vit-h": "build_sam_vit_h",
    **{f"sam2{v}-{s}": f"build_sam2_{s}" for s in "tsbl" for v in ("", ".1")},
}


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a SAM ``.pt`` (bare, or under ``model`` as SAM 2 files keep it)."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(
            f"cannot export {path}: it asks to run code while loading; expected a SAM state dict"
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelError(
            f"cannot export {path}: not a readable torch file ({str(exc).splitlines()[0][:200]})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(
            f"cannot export {path}: expected a SAM state dict (mobile_sam.pt, sam2.1_t.pt, sam_b.pt)"
        )
    return data


def arch_of(state: dict[str, torch.Tensor], path: Path) -> str:
    """``sam-mobile``, ``sam-vit-b``, ``sam2.1-t``, ... from the weights' names and shapes."""
    if "image_encoder.trunk.patch_embed.proj.weight" in state:
        dim = state["image_encoder.trunk.patch_embed.proj.weight"].shape[0]
        blocks = len({k.split(".")[3] for k in state if k.startswith("image_encoder.trunk.blocks.")})
        scale = SAM2_SCALES.get((dim, blocks))
        if scale is not None:
            return f"sam2{'.1' if 'no_obj_embed_spatial' in state else ''}-{scale}"
    elif "image_encoder.patch_embed.seq.0.c.weight" in state:
        return "sam-mobile"
    elif "image_encoder.pos_embed" in state:
        scale = VIT_SCALES.get(state["image_encoder.pos_embed"].shape[-1])
        if scale is not None:
            return f"sam-vit-{scale}"
    raise ModelError(
        f"cannot export {path}: its weights are no SAM, MobileSAM or SAM 2 model this inspector knows"
    )


def build(arch: str, state: dict[str, torch.Tensor], path: Path) -> nn.Module:
    """ultralytics' module for ``arch`` with the file's weights in the parts a box prompt uses
    (the SAM 2 memory modules, unused for one image, may differ between 2 and 2.1)."""
    try:
        sam_build = importlib.import_module("ultralytics.models.sam.build")
    except ImportError as exc:
        raise ModelError(
            f"--arch sam needs ultralytics at export time: pip install 'inspector[reference]' ({exc})"
        ) from None
    model = getattr(sam_build, BUILDERS[arch])(checkpoint=None)
    parts = ("image_encoder", "sam_prompt_encoder", "sam_mask_decoder") if arch.startswith("sam2") else (
        "image_encoder", "prompt_encoder", "mask_decoder")  # fmt: skip
    for part in parts:
        sub = {k.removeprefix(f"{part}."): v.float() for k, v in state.items() if k.startswith(f"{part}.")}
        try:
            getattr(model, part).load_state_dict(sub, strict=True)
        except RuntimeError as exc:
            raise ModelError(
                f"cannot export {path}: its {part} weights do not fit {arch} ({str(exc)[:200]})"
            ) from None
    if arch.startswith("sam2"):
        model.no_mem_embed.data.copy_(state["no_mem_embed"].float())
    return model.float().eval().requires_grad_(False)


def graphs(arch: str, model: nn.Module) -> tuple[nn.Module, nn.Module, tuple[str, ...]]:
    """Encoder, decoder and the encoder's output names (the decoder's leading inputs)."""
    if arch.startswith("sam2"):
        return Sam2Encoder(model), Sam2BoxDecoder(model), ("embeddings", "high_res_0", "high_res_1")
    return SamEncoder(model), SamBoxDecoder(model), ("embeddings",)


def check_image() -> torch.Tensor:
    """A smooth, normalised random image: the same on every run."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.randn((1, 3, IMGSZ // 32, IMGSZ // 32), generator=generator)
    return nn.functional.interpolate(coarse, size=(IMGSZ, IMGSZ), mode="bilinear", align_corners=False)


def to_onnx(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], names: tuple[list[str], list[str]], path: Path
) -> None:
    with warnings.catch_warnings(), torch.no_grad(), static_layer_norm():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notes: fixed shapes by design
        torch.onnx.export(
            module, inputs, str(path), dynamo=False, opset_version=OPSET,
            input_names=names[0], output_names=names[1], do_constant_folding=True,
        )  # fmt: skip


def largest_diff(path: Path, inputs: dict[str, torch.Tensor], want: tuple[torch.Tensor, ...]) -> float:
    ort = require("onnxruntime", "onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: value.numpy() for name, value in inputs.items()})
    return max(float((torch.from_numpy(g) - w).abs().max()) for g, w in zip(got, want, strict=True))


def as_tuple(out: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def write_pair(arch: str, model: nn.Module, folder: Path, source: Path) -> tuple[SamPair, float]:
    """Both graphs and ``sam.json`` into ``folder``. The eager outputs are taken before tracing:
    tracing TinyViT (MobileSAM) leaves its eager module computing something else afterwards."""
    encoder, decoder, embed_names = graphs(arch, model)
    image = check_image()
    box = torch.tensor([[200.0, 300.0, 640.0, 700.0]])
    with constant_pos_embed():  # the eager run computes what the trace then takes as constants
        with torch.no_grad():
            embeds = as_tuple(encoder(image))
            decoded = as_tuple(decoder(*embeds, box))
        decoder_inputs = {**dict(zip(embed_names, embeds, strict=True)), "box": box}
        to_onnx(
            decoder,
            tuple(decoder_inputs.values()),
            ([*decoder_inputs], ["low_res_masks", "iou"]),
            folder / DECODER_FILE,
        )
        to_onnx(encoder, (image,), (["image"], list(embed_names)), folder / ENCODER_FILE)
    diff = max(
        largest_diff(folder / ENCODER_FILE, {"image": image}, embeds),
        largest_diff(folder / DECODER_FILE, decoder_inputs, decoded),
    )
    params = sum(p.numel() for p in {id(q): q for m in (encoder, decoder) for q in m.parameters()}.values())
    pair = SamPair(folder, arch, IMGSZ, MASK_SIZE, embed_names, params, source.name)
    write_meta(pair)
    return pair, diff


def export_sam(args: argparse.Namespace) -> Any:
    """The ``--arch sam`` exporter: ONNX only (OpenVINO reads the same files)."""
    from inspector.engine.export.registry import ExportResult

    if args.format != "onnx":
        raise ModelError(
            f"--arch sam writes ONNX (--format onnx); OpenVINO runs those files too, not {args.format}"
        )
    if args.half or args.int8 or args.imgsz or args.frame:
        raise ModelError(
            "--arch sam exports float32 at SAM's fixed 1024x1024 input: no --half, --int8, --imgsz or --frame"
        )
    if not args.src.is_file():
        raise ModelError(f"cannot export {args.src}: no such file")
    folder: Path = args.output or args.src.with_suffix("")
    if folder.exists() and not (folder.is_dir() and args.force):
        raise ModelError(
            f"{folder} exists; pass --force to overwrite it"
            if folder.is_dir()
            else f"{folder} is a file; give a folder to write"
        )
    state = read_state(args.src)
    arch = arch_of(state, args.src)
    model = build(arch, state, args.src)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=False)
        pair, diff = write_pair(arch, model, tmp, args.src)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.replace(folder)
    except OSError as exc:
        raise ModelError(f"cannot write {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    detail = f"{arch}, encoder {IMGSZ}x{IMGSZ} + box decoder, f32, opset {OPSET}, {pair.params:,} params"
    return ExportResult(path=folder, max_abs_diff=diff, detail=detail)
