"""YOLO26-seg in plain torch against ultralytics' network built from yolo26-seg.yaml: both heads,
and the end-to-end head's top-k selection against ultralytics' own (no NMS)."""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.engine.checkpoint import layer_types, module_state, pick_model
from inspector.engine.families.registry import identify
from inspector.engine.families.topk import select_end_to_end
from inspector.engine.families.yolo26_seg import Yolo26Seg
from inspector.engine.model import RawNetwork, parameter_count
from inspector.engine.postprocess import NmsOptions
from inspector.engine.unpickle import restricted_load
from tests.support.families import (
    assert_close_after_folding,
    loaded_copy,
    reference_net,
    reference_shapes,
    save_checkpoint,
)
from tests.support.reference import as_batch, calibration_batch, setup_offline, synthetic_image

NC = 5


@functools.cache
def reference_for(scale: str) -> Any:
    """ultralytics network with calibrated BatchNorm and spread class scores, both heads (built once)."""
    return reference_net("yolo26", scale, NC)


@pytest.fixture(params=["n", "s"])
def reference(request: pytest.FixtureRequest) -> tuple[str, Any]:
    return request.param, reference_for(request.param)


def run_reference(ref: Any, x: torch.Tensor, end2end: bool, agnostic: bool = False) -> tuple[Any, ...]:
    """ultralytics' eval forward with the head chosen as ``predict(nms=...)`` would choose it."""
    ref.end2end = end2end
    ref.model[-1].agnostic_nms = agnostic
    try:
        with torch.no_grad():
            (pred, proto), raw = ref(x)
    finally:
        ref.end2end, ref.model[-1].agnostic_nms = False, False
    return pred, proto, raw


@pytest.mark.parametrize(("scale", "nc"), [("n", 80), ("s", 80), ("m", 80), ("l", 80), ("x", 80), ("n", 1)])
def test_parameter_count_and_names_match_ultralytics(scale: str, nc: int) -> None:
    count, shapes = reference_shapes("yolo26", scale, nc)
    with torch.device("meta"):  # shapes only: no memory, no random init
        ours = Yolo26Seg(nc, scale, end2end=True)
    assert parameter_count(ours) == count
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == shapes


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["l", "x"])
def test_parameter_count_matches_a_built_ultralytics_model(scale: str) -> None:
    setup_offline()
    from ultralytics.nn.tasks import SegmentationModel as Reference

    ref = Reference(f"yolo26{scale}-seg.yaml", nc=80, verbose=False)
    with torch.device("meta"):
        ours = Yolo26Seg(80, scale, end2end=True)
    assert parameter_count(ours) == parameter_count(ref)


def test_one_to_many_head_matches_ultralytics_default(reference: tuple[str, Any]) -> None:
    scale, ref = reference
    ours = loaded_copy(Yolo26Seg(NC, scale, end2end=False), ref)
    assert parameter_count(ours) == parameter_count(ref)
    fused = loaded_copy(Yolo26Seg(NC, scale, end2end=False), ref).fuse()
    x = as_batch([synthetic_image(224, 288, seed) for seed in (1, 2)])
    ref_pred, ref_proto, _ = run_reference(ref, x, end2end=False)
    with torch.no_grad():
        pred, proto = ours(x)
        fused_pred, fused_proto = fused(x)
    assert pred.shape == ref_pred.shape == (2, 4 + NC + 32, 28 * 36 + 14 * 18 + 7 * 9)
    torch.testing.assert_close(pred, ref_pred, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(proto, ref_proto, rtol=1e-4, atol=1e-4)
    assert_close_after_folding(fused_pred, ref_pred)
    assert_close_after_folding(fused_proto, ref_proto)


def test_one_to_one_head_and_top_k_match_ultralytics_end_to_end(reference: tuple[str, Any]) -> None:
    scale, ref = reference
    ours = loaded_copy(Yolo26Seg(NC, scale, end2end=True), ref)
    x = calibration_batch(torch.Generator().manual_seed(7), 256, n=2)
    ref_top, ref_proto, ref_raw = run_reference(ref, x, end2end=True)
    with torch.no_grad():
        raw = ours.raw(x)
        pred, proto = ours.decode(raw, (256, 256))
    one2one = ref_raw["one2one"]
    expected = (one2one["boxes"], one2one["scores"], one2one["mask_coefficient"])
    for got, want in zip(raw[:3], expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(proto, ref_proto, rtol=1e-4, atol=1e-4)
    everything = NmsOptions(conf=0.0, iou=0.7, max_det=300, classes=None, agnostic=False)
    for image in range(2):  # ultralytics' head output: the 300 best (anchor, class) pairs, unfiltered
        rows = select_end_to_end(pred[image], NC, everything)
        assert rows.shape == ref_top[image].shape == (300, 6 + 32)
        torch.testing.assert_close(rows, ref_top[image], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "opts",
    [
        NmsOptions(conf=0.25, iou=0.7, max_det=300, classes=None, agnostic=False),
        NmsOptions(conf=0.05, iou=0.7, max_det=7, classes=(1, 3), agnostic=False),
        NmsOptions(conf=0.05, iou=0.7, max_det=300, classes=None, agnostic=True),
    ],
    ids=["default", "classes-max_det", "agnostic"],
)
def test_top_k_selection_equals_ultralytics_predict_filter(
    reference: tuple[str, Any], opts: NmsOptions
) -> None:
    setup_offline()
    from ultralytics.utils.nms import non_max_suppression

    scale, ref = reference
    ours = loaded_copy(Yolo26Seg(NC, scale, end2end=True), ref)
    x = as_batch([synthetic_image(224, 288, seed) for seed in (3, 6)])
    ref_top, _, _ = run_reference(ref, x, end2end=True, agnostic=opts.agnostic)
    classes = list(opts.classes) if opts.classes else None
    expected = non_max_suppression(
        ref_top, opts.conf, opts.iou, classes, opts.agnostic, max_det=opts.max_det, nc=NC, end2end=True
    )
    with torch.no_grad():
        pred, _ = ours(x)
    kept = 0
    for image in range(2):
        rows = select_end_to_end(pred[image], NC, opts)
        torch.testing.assert_close(rows, expected[image], rtol=1e-4, atol=1e-4)
        kept += len(rows)
    assert kept > 0, "no instance passed: the comparison would prove nothing"


@pytest.mark.parametrize("end2end", [True, False])
def test_checkpoint_fused_by_ultralytics_loads_strictly(end2end: bool) -> None:
    """ultralytics' fuse keeps only the branch set its mode runs and drops the semantic branch."""
    scale = "n"
    fused_ref = copy.deepcopy(reference_for(scale))
    fused_ref.end2end = end2end
    fused_ref.fuse(verbose=False)
    ours = Yolo26Seg(NC, scale, end2end=end2end).fuse()
    ours.load_state_dict(fused_ref.state_dict(), strict=True)
    x = calibration_batch(torch.Generator().manual_seed(3), 256, n=1)
    with torch.no_grad():
        (want, _), _ = fused_ref(x)
        pred, _ = ours(x)
    got = select_end_to_end(pred[0], NC, NmsOptions(0.0, 0.7, 300, None, False))[None] if end2end else pred
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.trace is deprecated; the engine uses it
@pytest.mark.parametrize("end2end", [True, False])
def test_traced_raw_network_serves_other_input_sizes(end2end: bool) -> None:
    """The engine's frozen CPU forward traces ``raw`` once; the graph must not bake in one size."""
    torch.manual_seed(0)
    model = Yolo26Seg(3, "n", end2end).eval().fuse()
    with torch.no_grad():
        traced = torch.jit.trace(RawNetwork(model).eval(), torch.rand(1, 3, 256, 256), check_trace=False)
        x = torch.rand(2, 3, 224, 288)
        for got, want in zip(model.decode(traced(x), (224, 288)), model(x), strict=True):
            torch.testing.assert_close(got, want)


def test_saved_checkpoint_is_identified_by_its_layer_list(reference: tuple[str, Any], tmp_path: Path) -> None:
    scale, ref = reference
    path = save_checkpoint(ref, tmp_path / "weights" / "best.pt", "yolo26", scale)
    with zipfile.ZipFile(path) as archive:
        model = pick_model(restricted_load(archive))  # placeholders: nothing pickled runs
    family = identify(layer_types(model))
    assert family is not None and family.arch == "yolo26-seg" and family.end_to_end
    state = module_state(model)
    assert (family.scale_of(state), family.classes_of(state)) == (scale, NC)
    assert model.field("yaml", {}).get("end2end") is True
    head = model.field("_modules")["model"].field("_modules")["23"]
    # A saved head's mode is unset or False; ultralytics' predict sets the mode itself anyway
    # (nms=None: one-to-many + NMS while those branches exist), so the loader reads the branches.
    assert head.field("_end2end", False) is False
    ours = family.build(NC, scale, True)
    ours.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


RUNTIME_SCRIPT = """
import json, sys
import torch
from inspector.engine.families.registry import FAMILIES
from inspector.engine.families.topk import select_end_to_end
from inspector.engine.postprocess import NmsOptions, select

opts = NmsOptions(conf=0.0, iou=0.7, max_det=10, classes=None, agnostic=False)
for family in FAMILIES:
    for end2end in (False, True) if family.end_to_end else (False,):
        net = family.build(2, "n", end2end).eval().fuse()
        with torch.no_grad():
            pred, protos = net(torch.rand(1, 3, 96, 128))
        rows = (select_end_to_end if end2end else select)(pred[0], 2, opts)
        assert rows.shape == (10, 6 + 32) and protos.shape == (1, 32, 24, 32), (family.arch, rows.shape)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("ultralytics", "torchvision"))))
"""


def test_families_run_without_importing_ultralytics_or_torchvision() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", RUNTIME_SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
