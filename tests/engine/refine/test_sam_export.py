"""``inspector model export X.pt --arch sam --format onnx`` and ``model info`` of the pair it writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from inspector.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("arch", ["sam-mobile", "sam2.1-t"])
def test_model_info_names_the_sam_arch(
    arch: str, sam_models: Callable[[str], tuple[Any, Path, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    pair = sam_models(arch)[2]
    capsys.readouterr()  # the export's own report, when this test made the pair
    assert sorted(p.name for p in pair.iterdir()) == ["decoder.onnx", "encoder.onnx", "sam.json"]
    for shown in (pair, pair / "encoder.onnx"):  # the folder, or one of its files
        code, out, err = run_cli(capsys, "model", "info", str(shown), "--json")
        assert code == 0, err
        info = json.loads(out)
        assert info["arch"] == arch and info["task"] == "refine" and info["imgsz"] == [1024, 1024]
        assert info["params"] > 5_000_000


def test_export_refusals(
    sam_models: Callable[[str], tuple[Any, Path, Path]],
    tiny_seg_checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, checkpoint, pair = sam_models("sam-mobile")
    capsys.readouterr()
    code, _, err = run_cli(
        capsys, "model", "export", str(checkpoint), "--arch", "sam", "--format", "openvino"
    )
    assert code == 2 and "--format onnx" in err
    code, _, err = run_cli(
        capsys, "model", "export", str(checkpoint), "--arch", "sam", "--format", "onnx", "-o", str(pair)
    )
    assert code == 2 and "--force" in err
    code, _, err = run_cli(
        capsys, "model", "export", str(checkpoint), "--arch", "sam", "--format", "onnx", "--half"
    )
    assert code == 2 and "1024x1024" in err
    code, _, err = run_cli(
        capsys, "model", "export", str(tiny_seg_checkpoint), "--arch", "sam", "--format", "onnx"
    )
    assert code == 2 and str(tiny_seg_checkpoint) in err and "SAM state dict" in err
    other = tmp_path / "weights.pt"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    code, _, err = run_cli(capsys, "model", "export", str(other), "--arch", "sam", "--format", "onnx")
    assert code == 2 and "no SAM, MobileSAM or SAM 2 model" in err
    with pytest.raises(SystemExit) as exit_info:  # an unknown --arch is refused by its choices
        main(["model", "export", str(checkpoint), "--arch", "nosuch", "--format", "onnx"])
    assert exit_info.value.code == 2 and "sam" in capsys.readouterr().err


def test_a_broken_pair_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inspector.engine.refine import read_pair
    from inspector.errors import ModelError

    folder = tmp_path / "pair"
    folder.mkdir()
    (folder / "sam.json").write_text('{"format": "inspector.sam-pair", "arch": "sam-mobile"}')
    with pytest.raises(ModelError, match="incomplete"):
        read_pair(folder)
    with pytest.raises(ModelError, match="does not exist"):
        read_pair(tmp_path / "missing")


def constant_subgraph_ops(path: Path) -> list[str]:
    """Operators of the graph whose inputs are all constants (what a runtime folds at load)."""
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(path)).graph
    constant = {t.name for t in graph.initializer}
    ops = []
    for node in graph.node:
        if node.op_type == "Constant" or (node.input and all(i in constant or not i for i in node.input)):
            constant.update(node.output)
            ops.append(node.op_type)
    return ops


def test_sam2_positional_embedding_is_a_constant(sam_models: Callable[[str], tuple[Any, Path, Path]]) -> None:
    """Traced, Hiera's bicubic resize of its positional embedding was a constant subgraph that
    OpenVINO took 125-148 s to fold at every start (0.9 s to compile without it): the export
    writes the embedding itself."""
    ops = constant_subgraph_ops(sam_models("sam2.1-t")[2] / "encoder.onnx")
    assert "Resize" not in ops and "Tile" not in ops
