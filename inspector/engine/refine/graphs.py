"""The SAM family as two graphs for export: the image encoder (run once per frame) and a
box-prompted mask decoder (run once per part), built on ultralytics' modules (export time only).

The decoder takes one box in encoder-input pixels and returns the single-mask output's
low-resolution logits and IoU score; the crop and upsampling to the frame are done outside the
graph (``refine/sam.py``), since a traced crop freezes to the example's size. The prompt
embedding is written out arithmetically for a box (two corner points, labels 2 and 3), as the
boolean-mask updates of ``PromptEncoder._embed_points`` do not trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

SAM2_LEVELS = (256, 128, 64)  # SAM 2 feature sides for a 1024 input: two high-res levels, embeddings
EMBED_SIDE = 64


class SamEncoder(nn.Module):
    """SAM / MobileSAM: normalised image (1, 3, S, S) → image embeddings (1, 256, 64, 64)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.image_encoder = model.image_encoder

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(image)


class Sam2Encoder(nn.Module):
    """SAM 2: normalised image → embeddings (no-memory embedding added, as for a single image)
    and the two high-resolution feature levels the decoder upsamples with."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        backbone_out = self.model.forward_image(image)
        _, feats, _, _ = self.model._prepare_backbone_features(backbone_out)
        feats[-1] = feats[-1] + self.model.no_mem_embed
        levels = zip(feats, SAM2_LEVELS, strict=True)
        h0, h1, embed = (f.permute(1, 2, 0).reshape(1, -1, side, side) for f, side in levels)
        return embed, h0, h1


def box_tokens(prompt_encoder: Any, box: torch.Tensor, pad: bool) -> torch.Tensor:
    """Sparse prompt embeddings of one box (1, 4) in input pixels: the two corners' positional
    encodings plus their corner embeddings, and (SAM 2, which prompts boxes as points) the
    padding point's not-a-point embedding."""
    corners = (box + 0.5).reshape(1, 2, 2)
    tokens = prompt_encoder.pe_layer.forward_with_coords(corners, prompt_encoder.input_image_size)
    corner_embeds = torch.cat(
        [prompt_encoder.point_embeddings[2].weight, prompt_encoder.point_embeddings[3].weight]
    )
    tokens = tokens + corner_embeds[None]
    if pad:
        tokens = torch.cat([tokens, prompt_encoder.not_a_point_embed.weight[None]], dim=1)
    return tokens


def dense_tokens(prompt_encoder: Any) -> torch.Tensor:
    """The no-mask dense embedding (1, 256, 64, 64)."""
    return prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, EMBED_SIDE, EMBED_SIDE)


class SamBoxDecoder(nn.Module):
    """SAM / MobileSAM decoder: (embeddings, box) → low-res mask logits (1, 1, 256, 256), IoU (1, 1)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.prompt_encoder = model.prompt_encoder
        self.mask_decoder = model.mask_decoder

    def forward(self, embeddings: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pe = self.prompt_encoder
        return self.mask_decoder(
            image_embeddings=embeddings,
            image_pe=pe.get_dense_pe(),
            sparse_prompt_embeddings=box_tokens(pe, box, pad=False),
            dense_prompt_embeddings=dense_tokens(pe),
            multimask_output=False,
        )


class Sam2BoxDecoder(nn.Module):
    """SAM 2 decoder: (embeddings, high-res levels, box) → low-res mask logits, IoU; the single
    mask as the predictor picks it (by stability when multimask output is off)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.prompt_encoder = model.sam_prompt_encoder
        self.mask_decoder = model.sam_mask_decoder

    def forward(
        self, embeddings: torch.Tensor, high_res_0: torch.Tensor, high_res_1: torch.Tensor, box: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pe = self.prompt_encoder
        masks, iou, _, _ = self.mask_decoder(
            image_embeddings=embeddings,
            image_pe=pe.get_dense_pe(),
            sparse_prompt_embeddings=box_tokens(pe, box, pad=True),
            dense_prompt_embeddings=dense_tokens(pe),
            multimask_output=False,
            repeat_image=False,
            high_res_features=[high_res_0, high_res_1],
        )
        return masks, iou


@contextlib.contextmanager
def static_layer_norm() -> Iterator[None]:
    """ultralytics' ``LayerNorm2d`` reads its normalised shape from the input (``x.shape[1:2]``),
    which the tracer turns into a shape computation ONNX's LayerNormalization cannot take: use
    the parameter's length while exporting (MobileSAM's neck, every decoder's upscaling)."""
    from ultralytics.nn.modules.transformer import LayerNorm2d

    original = LayerNorm2d.forward

    def forward(self: Any, x: torch.Tensor) -> torch.Tensor:
        out = nn.functional.layer_norm(
            x.permute(0, 2, 3, 1), (len(self.bias),), self.weight, self.bias, self.eps
        )
        return out.permute(0, 3, 1, 2)

    LayerNorm2d.forward = forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        LayerNorm2d.forward = original  # type: ignore[method-assign]


@contextlib.contextmanager
def constant_pos_embed() -> Iterator[None]:
    """SAM 2's Hiera trunk interpolates its positional embedding to the input size (bicubic) on
    every call; traced, that is a subgraph of constants that OpenVINO's constant folding took 147 s
    over (of a 148 s compile of the encoder, two cores). The export's input size is fixed, so the
    embedding is computed by torch in the eager run before tracing and the trace takes it as a
    constant: the same values, a plain initializer in the graph."""
    from ultralytics.models.sam.modules.encoders import Hiera

    original = Hiera._get_pos_embed
    computed: dict[tuple[int, tuple[int, int]], torch.Tensor] = {}

    def get_pos_embed(self: Any, hw: tuple[int, int]) -> torch.Tensor:
        key = (id(self), (int(hw[0]), int(hw[1])))
        if torch.jit.is_tracing() and key in computed:
            return computed[key]
        embed = original(self, hw)
        if not torch.jit.is_tracing():
            computed[key] = embed.detach().clone()
        return embed

    Hiera._get_pos_embed = get_pos_embed  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hiera._get_pos_embed = original  # type: ignore[method-assign]
