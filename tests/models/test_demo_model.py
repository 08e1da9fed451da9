"""The shipped demo model: loads through the safe loader and finds planted solder defects.

Boards come from a seed the training recipe never used (see deploy/training/).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.engine import DEMO_MODEL, EngineConfig, load_engine, load_model
from inspector.messages import Detections
from inspector.synth import CLASS_NAMES, DEFECT_CLASS_IDS, BoardGenerator, DefectPolicy, Instance

TEST_SEED = 4242  # not a training, validation or held-out evaluation seed
DEMO_SCORE = 0.5  # the demo rule: reject on any defect with score >= 0.5
BOARDS = 6


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return load_engine(EngineConfig(model=DEMO_MODEL, device="cpu", cpu_threads=2, warmup=0))


def test_demo_model_is_small_and_in_the_safe_format() -> None:
    assert DEMO_MODEL.stat().st_size <= 10 * 1024 * 1024
    loaded = load_model(DEMO_MODEL)
    assert loaded.info.format == "inspector"
    assert loaded.info.names == CLASS_NAMES
    # the project format is plain tensors and containers: the strict torch loader reads it
    assert isinstance(torch.load(DEMO_MODEL, map_location="cpu", weights_only=True), dict)


def _defects(det: Detections) -> list[tuple[int, np.ndarray]]:
    keep = (det.scores >= DEMO_SCORE) & torch.isin(det.class_ids, torch.tensor(sorted(DEFECT_CLASS_IDS)))
    return [(int(c), m.cpu().numpy()) for c, m in zip(det.class_ids[keep], det.masks[keep], strict=True)]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _found(planted: Instance, predicted: list[tuple[int, np.ndarray]]) -> bool:
    return any(c == planted.class_id and _iou(m, planted.mask) >= 0.5 for c, m in predicted)


@pytest.mark.slow
def test_demo_model_finds_planted_defects(engine) -> None:  # type: ignore[no-untyped-def]
    """Every defective board is rejected; planted defects are found with the right class.

    Floors sit below what the shipped model measured on these boards (see MODEL_CARD.md:
    6/6 rejected, 14/15 same-class at score >= 0.5, 15/15 localised); they guard against
    a broken model or loader, not the quality bar, which the card reports on 300 boards.
    """
    gen = BoardGenerator((640, 480), TEST_SEED, DefectPolicy(defect_board_rate=1.0, max_defects=3))
    planted = found = localised = rejected = 0
    for index in range(BOARDS):
        image, instances = gen.render(index)
        det = engine.infer([image])[0]
        predicted = _defects(det)
        anything = [(-1, m.cpu().numpy()) for m in det.masks]
        rejected += bool(predicted)
        for inst in instances:
            if inst.is_defect:
                planted += 1
                found += _found(inst, predicted)
                localised += any(_iou(m, inst.mask) >= 0.5 for _, m in anything)
    assert rejected == BOARDS, f"only {rejected}/{BOARDS} defective boards rejected"
    assert localised / planted >= 0.9, f"only {localised}/{planted} planted defects segmented (IoU >= 0.5)"
    assert found / planted >= 0.8, f"found {found}/{planted} planted defects (same class, score >= 0.5)"


@pytest.mark.slow
def test_demo_model_passes_clean_boards(engine) -> None:  # type: ignore[no-untyped-def]
    gen = BoardGenerator((640, 480), TEST_SEED, DefectPolicy(defect_board_rate=0.0))
    false_rejects = []
    good_joints = found_good = 0
    for index in range(BOARDS):
        image, instances = gen.render(index)
        det = engine.infer([image])[0]
        if _defects(det):
            false_rejects.append(index)
        good = [(int(c), m.cpu().numpy()) for c, m in zip(det.class_ids, det.masks, strict=True)]
        good_joints += len(instances)
        found_good += sum(_found(inst, good) for inst in instances)
    assert not false_rejects, f"clean boards rejected: {false_rejects}"
    assert found_good / good_joints >= 0.95, f"found {found_good}/{good_joints} good joints"
