"""The plain-torch network against ultralytics' SegmentationModel (the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inspector.engine.loaders import load_model, read_content
from inspector.engine.model import SegmentationModel, parameter_count
from tests.support.reference import as_batch, setup_offline, synthetic_image, yolo


@pytest.mark.parametrize(
    ("scale", "nc"),
    [
        ("n", 80),
        ("s", 80),
        ("m", 80),
        pytest.param("l", 80, marks=pytest.mark.slow),
        pytest.param("x", 80, marks=pytest.mark.slow),
        ("s", 3),
        ("n", 1),
    ],
)
def test_parameter_count_and_names_match_ultralytics(scale: str, nc: int) -> None:
    setup_offline()
    from ultralytics.nn.tasks import SegmentationModel as Reference

    ref = Reference(f"yolov8{scale}-seg.yaml", nc=nc, verbose=False)
    with torch.device("meta"):  # shapes only: no memory, no random init
        ours = SegmentationModel(nc, scale)
    assert parameter_count(ours) == parameter_count(ref)
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert ours_shapes == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


@pytest.mark.parametrize(
    ("checkpoint", "scale"), [("tiny_seg_checkpoint", "n"), ("small_seg_checkpoint", "s")]
)
def test_reference_state_dict_loads_strict_and_raw_outputs_match(
    request: pytest.FixtureRequest, checkpoint: str, scale: str
) -> None:
    path: Path = request.getfixturevalue(checkpoint)
    ref = yolo(path).model.float().eval()
    content, _ = read_content(path)
    assert content.scale == scale
    ours = SegmentationModel(content.nc, content.scale)
    ours.load_state_dict(ref.state_dict(), strict=True)
    for name, module in ours.named_modules():  # eps lives outside the state dict
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = content.bn_eps[name]
    ours.eval()
    fused = load_model(path).module
    x = as_batch([synthetic_image(224, 288, seed) for seed in (1, 2)])
    with torch.no_grad():
        (ref_pred, ref_proto), _ = ref(x)
        pred, proto = ours(x)
        fused_pred, fused_proto = fused(x)
    torch.testing.assert_close(pred, ref_pred, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(proto, ref_proto, rtol=1e-4, atol=1e-4)
    # BatchNorm folded at load: same answers up to float rounding (box coordinates are in pixels).
    torch.testing.assert_close(fused_pred, ref_pred, rtol=1e-3, atol=2e-2)
    torch.testing.assert_close(fused_proto, ref_proto, rtol=1e-3, atol=1e-3)
