"""YOLO11-seg in plain torch against ultralytics' network built from yolo11-seg.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.engine.checkpoint import layer_types, module_state, pick_model
from inspector.engine.families.registry import YOLOV8_SEG_LAYERS, identify
from inspector.engine.families.yolo11_seg import Yolo11Seg
from inspector.engine.model import RawNetwork, parameter_count
from inspector.engine.unpickle import restricted_load
from tests.support.families import (
    assert_close_after_folding,
    loaded_copy,
    reference_net,
    reference_shapes,
    save_checkpoint,
)
from tests.support.reference import as_batch, setup_offline, synthetic_image

NC = 5


@pytest.fixture(scope="module", params=["n", "s"])
def reference(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(scale, ultralytics network with calibrated BatchNorm and spread class scores)."""
    return request.param, reference_net("yolo11", request.param, NC)


@pytest.mark.parametrize(("scale", "nc"), [("n", 80), ("s", 80), ("m", 80), ("l", 80), ("x", 80), ("s", 1)])
def test_parameter_count_and_names_match_ultralytics(scale: str, nc: int) -> None:
    count, shapes = reference_shapes("yolo11", scale, nc)
    with torch.device("meta"):  # shapes only: no memory, no random init
        ours = Yolo11Seg(nc, scale)
    assert parameter_count(ours) == count
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == shapes


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["l", "x"])
def test_parameter_count_matches_a_built_ultralytics_model(scale: str) -> None:
    setup_offline()
    from ultralytics.nn.tasks import SegmentationModel as Reference

    ref = Reference(f"yolo11{scale}-seg.yaml", nc=80, verbose=False)
    with torch.device("meta"):
        ours = Yolo11Seg(80, scale)
    assert parameter_count(ours) == parameter_count(ref)


def test_state_dict_loads_strict_and_raw_outputs_match(reference: tuple[str, Any]) -> None:
    scale, ref = reference
    ours = loaded_copy(Yolo11Seg(NC, scale), ref)
    assert parameter_count(ours) == parameter_count(ref)
    fused = loaded_copy(Yolo11Seg(NC, scale), ref).fuse()
    x = as_batch([synthetic_image(224, 288, seed) for seed in (1, 2)])
    with torch.no_grad():
        (ref_pred, ref_proto), _ = ref(x)
        pred, proto = ours(x)
        fused_pred, fused_proto = fused(x)
    assert pred.shape == ref_pred.shape == (2, 4 + NC + 32, 28 * 36 + 14 * 18 + 7 * 9)
    torch.testing.assert_close(pred, ref_pred, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(proto, ref_proto, rtol=1e-4, atol=1e-4)
    assert_close_after_folding(fused_pred, ref_pred)
    assert_close_after_folding(fused_proto, ref_proto)


def test_saved_checkpoint_is_identified_by_its_layer_list(reference: tuple[str, Any], tmp_path: Path) -> None:
    scale, ref = reference
    path = save_checkpoint(ref, tmp_path / "weights" / "best.pt", "yolo11", scale)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        model = pick_model(restricted_load(archive))  # placeholders: nothing pickled runs
    family = identify(layer_types(model))
    assert family is not None and family.arch == "yolo11-seg" and not family.end_to_end
    state = module_state(model)
    assert (family.scale_of(state), family.classes_of(state)) == (scale, NC)
    ours = family.build(NC, scale, False)
    ours.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def test_yolov8_layer_list_is_still_yolov8() -> None:
    family = identify(YOLOV8_SEG_LAYERS)
    assert family is not None and family.arch == "yolov8-seg" and family.head_index == 22
    assert identify([*YOLOV8_SEG_LAYERS[:-1], "Detect"]) is None


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.trace is deprecated; the engine uses it
def test_traced_raw_network_serves_other_input_sizes() -> None:
    """The engine's frozen CPU forward traces ``raw`` once; the graph must not bake in one size."""
    torch.manual_seed(0)
    model = Yolo11Seg(3, "n").eval().fuse()
    with torch.no_grad():
        traced = torch.jit.trace(RawNetwork(model).eval(), torch.rand(1, 3, 256, 256), check_trace=False)
        x = torch.rand(2, 3, 224, 288)
        for got, want in zip(model.decode(traced(x), (224, 288)), model(x), strict=True):
            torch.testing.assert_close(got, want)


def test_yolov8_scale_is_read_off_the_stem_width() -> None:
    from inspector.engine.families import registry

    for width, scale in {16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}.items():
        assert registry.yolov8_scale({"model.0.conv.weight": torch.empty(width, 3, 3, 3)}) == scale
    with pytest.raises(ValueError, match="24 channels"):
        registry.yolov8_scale({"model.0.conv.weight": torch.empty(24, 3, 3, 3)})
