"""Instance masks: the CPU's numpy path (logits inside each box's prototype window only) builds
exactly the masks of the device path (logits of every prototype pixel, then the box window), on
the demo model's real outputs for synthetic boards and on boxes that leave the frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.engine import EngineConfig, load_engine
from inspector.engine.masks import MaskBuilder
from inspector.engine.postprocess import boxes_to_original, select
from inspector.synth import BoardGenerator


@pytest.fixture(scope="module")
def demo_outputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]]:
    """(protos, coefficients, boxes in frame pixels, frame size) of the demo model on 3 boards."""
    engine = load_engine(EngineConfig(device="cpu", warmup=0))
    boards = BoardGenerator((640, 480), seed=5)
    found = []
    for i in range(3):
        frame = boards.render(i)[0]
        (plan,) = engine.plans([frame])
        with torch.inference_mode():
            preds, protos = engine.run_network(engine.to_input([frame], [plan]))
        rows = select(preds[0].float(), len(engine.names), engine.nms)
        found.append(
            (protos[0].clone(), rows[:, 6:].clone(), boxes_to_original(rows[:, :4], plan), plan.orig_hw)
        )
    return found


def test_box_window_logits_give_the_masks_of_full_logits(
    demo_outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]],
) -> None:
    builder = MaskBuilder(torch.device("cpu"))
    instances = 0
    for protos, coeffs, boxes, orig_hw in demo_outputs:
        masks, keep = builder.build(protos, coeffs, boxes, orig_hw)
        full, nonempty = builder._build_torch(protos, coeffs, boxes, orig_hw)
        assert keep.tolist() == nonempty.tolist()
        assert torch.equal(masks, full[nonempty])
        instances += len(masks)
    assert instances > 60  # boards full of parts, not a trivial case


def test_boxes_past_the_frame_edges_and_empty_masks_agree(
    demo_outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]],
) -> None:
    protos, coeffs, _, orig_hw = demo_outputs[0]
    h, w = orig_hw
    boxes = torch.tensor(
        [[-20.0, -10.0, 40.0, 30.0], [w - 30.0, h - 25.0, w + 50.0, h + 9.0], [100.2, 100.0, 100.8, 180.0]]
    )
    picked = coeffs[:3].clone()
    picked[1] = 0  # every logit 0, none above: an empty mask, dropped (as the box with no whole pixel)
    builder = MaskBuilder(torch.device("cpu"))
    masks, keep = builder.build(protos, picked, boxes.clamp(min=0), orig_hw)
    full, nonempty = builder._build_torch(protos, picked, boxes.clamp(min=0), orig_hw)
    assert keep.tolist() == nonempty.tolist() and not bool(keep[1]) and not bool(keep[2])
    assert torch.equal(masks, full[nonempty])
    assert np.all(masks.numpy().sum((1, 2)) > 0)
