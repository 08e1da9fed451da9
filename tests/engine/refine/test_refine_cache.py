"""OpenVINO compiles the SAM graphs through its model cache: the second open of a pair loads the
compiled graphs (SAM 2's encoder: ~2 min from ONNX, under a second from the cache) and gives the
same masks; a folder that cannot be written is said once and the pair still opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.engine.refine import RefineConfig, SamRefiner
from inspector.engine.refine.pair import read_pair
from inspector.engine.refine.sessions import CACHE_FOLDER
from tests.engine.refine.conftest import textured_frame
from tests.support.logs import LogCapture

BOX = np.array([40, 50, 260, 300], dtype=np.float32)


@pytest.fixture(scope="module")
def mobile_pair(sam_models: Callable[[str], tuple[Any, Path, Path]]) -> Path:
    pytest.importorskip("openvino")
    return sam_models("sam-mobile")[2]


def compiled_events(logs: LogCapture) -> list[dict[str, Any]]:
    return logs.events("refine_graph_compiled")


def test_a_second_open_loads_the_compiled_graphs(mobile_pair: Path, tmp_path: Path, logs: LogCapture) -> None:
    frame = textured_frame(240, 320, seed=1)
    first = SamRefiner.open(mobile_pair, "openvino", 2, "f32", tmp_path / "cache")
    assert [e["from_cache"] for e in compiled_events(logs)] == [False, False]  # encoder, decoder
    want = first.mask(first.embed(frame), BOX)[0]
    second = SamRefiner.open(mobile_pair, "openvino", 2, "f32", tmp_path / "cache")
    events = compiled_events(logs)[2:]
    assert [e["from_cache"] for e in events] == [True, True]
    assert all(Path(e["cache"]).parent == tmp_path / "cache" for e in events)  # one folder per ONNX content
    assert np.array_equal(second.mask(second.embed(frame), BOX)[0], want)


def test_the_default_cache_is_in_the_pair_folder(mobile_pair: Path, logs: LogCapture) -> None:
    assert RefineConfig(model="pair", classes=["a"], backend="openvino").cache_dir is None
    SamRefiner.open(mobile_pair, "openvino", 2)
    folder = read_pair(mobile_pair).folder / CACHE_FOLDER
    assert folder.is_dir()
    assert all(Path(e["cache"]).parent == folder for e in compiled_events(logs))


def test_an_unwritable_cache_is_said_and_the_pair_still_opens(
    mobile_pair: Path, tmp_path: Path, logs: LogCapture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    refiner = SamRefiner.open(mobile_pair, "openvino", 2, "f32", blocker / "cache")
    (warning, *_) = logs.events("refine_cache_unusable")
    assert "engine.refine.cache_dir" in warning["note"]
    assert all(e["cache"] is None and not e["from_cache"] for e in compiled_events(logs))
    assert refiner.mask(refiner.embed(textured_frame(240, 320, seed=1)), BOX)[0].shape == (240, 320)
