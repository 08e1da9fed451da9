"""best.pt files as ultralytics training writes them (tests/data/trained, see its README): EMA
in half precision (as "model"), train args, stripped optimizer, 8.4 metadata. Each loads through the engine,
converts with ``inspector model convert`` and gives ultralytics predict's detections."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inspector.cli import main
from inspector.engine import EngineConfig, load_engine
from tests.engine.test_families_engine import IMAGE_SIZES, in_reference_order
from tests.support.reference import assert_same_detections, synthetic_image, yolo

TRAINED = Path(__file__).resolve().parents[1] / "data" / "trained"


# predict's conf per file: the YOLO11 one has 300+ candidates at 0.1 on the first image (the
# max_det cut would then fall among near-equal scores)
CONF = {"yolo11": 0.25, "yolo26": 0.1}


@pytest.mark.parametrize("family", ["yolo11", "yolo26"])
def test_trained_best_pt_loads_converts_and_matches_predict(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = TRAINED / f"{family}n-seg-best.pt"
    checkpoint = torch.load(source, map_location="cpu", weights_only=False)  # what training wrote
    assert checkpoint["optimizer"] is None and checkpoint["train_args"]["epochs"] >= 1
    # the EMA weights, in half precision, moved to "model" when training stripped the file
    assert checkpoint["ema"] is None and next(checkpoint["model"].parameters()).dtype == torch.float16
    own = tmp_path / "line3.pt"
    assert main(["model", "convert", str(source), str(own)]) == 0, capsys.readouterr().err
    reference = yolo(source)
    for model in (source, own):
        engine = load_engine(EngineConfig(model=model, device="cpu", conf=CONF[family]))
        assert (engine.info.arch, engine.info.scale, engine.info.nc) == (f"{family}-seg", "n", 5)
        total = 0
        for h, w in IMAGE_SIZES:
            image = synthetic_image(h, w, seed=h * w)
            (ours,) = engine.infer([image])
            (ref,) = reference.predict(image, conf=CONF[family], retina_masks=True, verbose=False)
            assert_same_detections(in_reference_order(ours, ref), ref, image)
            total += len(ours)
        assert total >= 10  # the comparison is not vacuous
