"""``engine.refine.precision: bf16``: the SAM pair compiled by OpenVINO at bf16 is checked
against its f32 twin at start (masks of check boxes on a check frame) and refused below
``engine.refine.check_iou``; bf16 needs OpenVINO, and a CPU that runs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from inspector.engine.refine import RefineConfig, RefiningEngine, SamRefiner, with_refinement
from inspector.engine.refine.precision import check_refine_precision, compare_refiners
from inspector.errors import ModelError
from tests.support.logs import LogCapture
from tests.support.parts import BlobEngine


def cpu_runs_bf16() -> bool:
    pytest.importorskip("openvino")
    from tests.support.openvino import openvino_cpu_capabilities

    return "BF16" in openvino_cpu_capabilities()


@pytest.fixture(scope="module")
def mobile_pair(sam_models: Callable[[str], tuple[Any, Path, Path]]) -> Path:
    pytest.importorskip("openvino")
    return sam_models("sam-mobile")[2]


def test_bf16_needs_openvino() -> None:
    with pytest.raises(ValidationError, match="precision bf16 runs on backend openvino only"):
        RefineConfig(model="sam", classes=["a"], precision="bf16")
    with pytest.raises(ValidationError, match="check_iou"):
        RefineConfig(model="sam", classes=["a"], backend="openvino", precision="bf16", check_iou=1.5)


def test_bf16_pair_passes_its_check_and_refines(mobile_pair: Path, logs: LogCapture) -> None:
    if not cpu_runs_bf16():
        pytest.skip("this CPU has no bf16 (AVX-512-BF16 or AMX)")
    config = RefineConfig(model=mobile_pair, classes=["solder_bridge"], backend="openvino", precision="bf16")
    engine = with_refinement(BlobEngine(), config)
    assert isinstance(engine, RefiningEngine)
    frame = np.full((240, 320, 3), 40, np.uint8)
    frame[60:100, 80:120] = 230
    (found,) = engine.infer([frame])
    assert len(found) == 1 and engine.counts().refined + engine.counts().empty == 1
    (loaded,) = logs.events("refine_loaded")
    assert loaded["precision"] == "bf16" and 0.9 <= loaded["check_worst_iou"] <= 1.0


def test_bf16_against_f32_on_the_check_boxes(mobile_pair: Path) -> None:
    """The check compares real masks: bf16 close to f32 on every box, f32 identical to itself."""
    if not cpu_runs_bf16():
        pytest.skip("this CPU has no bf16 (AVX-512-BF16 or AMX)")
    f32 = SamRefiner.open(mobile_pair, "openvino", 2, "f32")
    same = compare_refiners(f32, SamRefiner.open(mobile_pair, "openvino", 2, "f32"))
    assert same.worst_iou == 1.0 and same.compared >= 4  # random weights still draw masks here
    bf16 = compare_refiners(SamRefiner.open(mobile_pair, "openvino", 2, "bf16"), f32)
    assert 0.9 <= bf16.worst_iou <= 1.0 and bf16.compared == same.compared


def test_a_pair_that_disagrees_with_f32_is_refused(mobile_pair: Path) -> None:
    """A decoder whose mask logits come out negated (every mask inverted) is what a precision
    that broke the graph looks like: refused, naming both keys."""
    f32 = SamRefiner.open(mobile_pair, "openvino", 2, "f32")

    def inverted(inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        low, iou = f32._decoder(inputs)
        return [-low, iou]

    broken = SamRefiner(f32.pair, f32._encoder, inverted)
    with pytest.raises(
        ModelError, match=r"engine\.refine\.precision bf16.*engine\.refine\.check_iou is 0\.9"
    ):
        check_refine_precision(broken, f32, "bf16", 0.9)
    assert check_refine_precision(broken, f32, "bf16", 0.0).worst_iou < 0.5  # 0 skips: never refused


def test_onnxruntime_refuses_bf16_without_the_config(mobile_pair: Path) -> None:
    with pytest.raises(ModelError, match="ONNX Runtime runs the SAM graphs in f32 only"):
        SamRefiner.open(mobile_pair, "onnxruntime", 1, "bf16")
