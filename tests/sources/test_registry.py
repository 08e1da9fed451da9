"""The source kinds: one registry keyed by the config's ``kind``, in step with the config union."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from inspector.sources import SOURCE_KINDS, SourceConfig, build_source
from inspector.sources.camera import CameraSource
from inspector.sources.config import CameraSourceConfig, FolderSourceConfig, SyntheticSourceConfig
from inspector.sources.folder import FolderSource
from inspector.sources.genicam.config import GenicamSourceConfig
from inspector.sources.genicam.source import GenicamSource
from inspector.sources.synthetic import SyntheticSource


def test_every_configurable_kind_has_a_builder_and_no_more() -> None:
    union = get_args(get_args(SourceConfig)[0])
    assert {k.config_type for k in SOURCE_KINDS.values()} == set(union)
    assert all(kind == entry.kind for kind, entry in SOURCE_KINDS.items())
    assert set(SOURCE_KINDS) == {"camera", "folder", "synthetic", "genicam"}


def test_build_source_builds_the_kind_of_the_entry(tmp_path: Path) -> None:
    assert isinstance(build_source(FolderSourceConfig(kind="folder", path=tmp_path)), FolderSource)
    assert isinstance(build_source(SyntheticSourceConfig(kind="synthetic")), SyntheticSource)
    clip = CameraSourceConfig(kind="camera", uri=str(tmp_path / "clip.avi"))
    assert isinstance(build_source(clip), CameraSource)
    assert isinstance(build_source(GenicamSourceConfig(kind="genicam")), GenicamSource)  # opens nothing yet


def test_a_given_device_stands_in_for_any_kind(tmp_path: Path) -> None:
    device = SyntheticSource(SyntheticSourceConfig(kind="synthetic", count=1))
    assert build_source(FolderSourceConfig(kind="folder", path=tmp_path), device=device) is device
    assert build_source(SyntheticSourceConfig(kind="synthetic"), device=device) is device
