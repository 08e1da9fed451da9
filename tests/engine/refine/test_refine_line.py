"""The demo line (synthetic PCB camera, the shipped demo model, demo rules) with ``engine.refine``
on, end to end; its refinement counters in the stats event and on /metrics. And ``inspector
segment --refine`` on FastSAM's prompts."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pytest

from inspector.app import App, build_line
from inspector.app.demo import DEMO_CLASSES, DEMO_MODEL
from inspector.cli import main
from inspector.cli.demo import demo_config
from inspector.engine.refine import RefineConfig, RefiningEngine
from tests.support.parts import run_line
from tests.support.reference import build_checkpoint, synthetic_image


@pytest.mark.slow
@pytest.mark.parametrize("post_stage", [False, True], ids=["one step", "postprocess stage"])
def test_the_demo_line_runs_with_refinement(
    sam_models: Callable[[str], tuple[Any, Path, Path]], post_stage: bool
) -> None:
    pair = sam_models("sam-mobile")[2]
    args = argparse.Namespace(size="640x480", seed=0, frames=2, batch=1, verbose=False, device="cpu")
    config = demo_config(args, DEMO_MODEL, None)
    # every demo class, at most two a frame: a PCB board has far more joints, so the cap shows
    refine = RefineConfig(model=pair, classes=DEMO_CLASSES, max_parts=2)
    config = config.model_copy(update={"engine": config.engine.model_copy(update={"refine": refine})})
    # with the post-processing stage, SAM runs there (in the refining engine's finish), not skipped
    runtime = config.runtime.model_copy(update={"postprocess_stage": post_stage})
    config = config.model_copy(update={"runtime": runtime})
    app = App(build_line(config))
    assert ("postprocess" in app.line.stage_names()) is post_stage
    assert run_line(app, timeout=300)
    engine = app.line.engine
    assert isinstance(engine, RefiningEngine)
    counts = engine.counts()
    assert app.line.stats.total()["frames"] == 2
    assert counts.frames == 2 and counts.refined + counts.empty == 4 and counts.over_cap > 0
    assert app.line.reporter.fields()["refine"] == dataclasses.asdict(counts)
    metrics = app.line.watch.metrics.render()
    assert f'inspector_refine_parts_total{{outcome="over_cap"}} {float(counts.over_cap)}' in metrics
    assert "inspector_refine_frames_total 2.0" in metrics


@pytest.fixture(scope="module")
def fastsam_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random FastSAM-s (YOLOv8s-seg, one class "object"), as tests/engine/test_fastsam.py builds it."""
    path = tmp_path_factory.mktemp("models") / "FastSAM-s.pt"
    return build_checkpoint(path, scale="s", nc=1, names=("object",), imgsz=320, seed=11)


def segment(capsys: pytest.CaptureFixture[str], image: Path, model: Path, *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(
        ["segment", str(image), "--model", str(model), "--conf", "0.02", "--json", "--device", "cpu", *extra]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.splitlines()[0])


def test_segment_refines_fastsams_prompted_instances(
    sam_models: Callable[[str], tuple[Any, Path, Path]],
    fastsam_checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FastSAM's box prompt selects an instance (the mask with the highest IoU with the box); SAM
    then redraws that instance's mask from its box: same instance, box and score, SAM's mask."""
    pair = sam_models("sam-mobile")[2]
    image = tmp_path / "board.png"
    cv2.imwrite(str(image), synthetic_image(240, 320, seed=5))
    prompt = ("--prompt-box", "40,40,200,180")
    plain = segment(capsys, image, fastsam_checkpoint, *prompt)
    refined = segment(
        capsys, image, fastsam_checkpoint, *prompt, "--refine", str(pair), "--refine-max-parts", "4"
    )
    assert len(plain["instances"]) == 1  # the prompt picked one instance
    (before,), (after,) = plain["instances"], refined["instances"]
    assert (after["name"], after["score"], after["box"]) == (before["name"], before["score"], before["box"])
    assert after["mask_area"] != before["mask_area"]  # SAM's mask, not FastSAM's
    assert {"refine_encoder", "refine_decoder"} <= set(refined["timing_ms"])
    capsys.readouterr()
    assert (
        main(
            [
                "segment",
                str(image),
                "--model",
                str(fastsam_checkpoint),
                "--refine",
                str(pair),
                "--refine-classes",
                "dog",
            ]
        )
        == 2
    )
    assert "engine.refine.classes.0" in capsys.readouterr().err
