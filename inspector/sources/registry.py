"""The source kinds, keyed by the ``kind`` of their config entry.

Adding a kind (an industrial camera SDK, say) is its module (the source and a ``build``
function) plus one line in ``SOURCE_KINDS``; its config class joins ``SourceConfig``
(``inspector.sources.config``). ``build_source`` never looks at which kind it builds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args

from inspector.section import Section
from inspector.sources import camera, folder, synthetic
from inspector.sources.base import FrameSource, SourceOptions
from inspector.sources.config import SourceConfig
from inspector.sources.genicam import source as genicam

C = TypeVar("C", bound=Section)


@dataclass(frozen=True, slots=True)
class SourceKind(Generic[C]):
    """One kind of source: its config class and how a source is built from an entry of it."""

    config_type: type[C]
    build: Callable[[C, SourceOptions], FrameSource]

    @property
    def kind(self) -> str:
        """The config's ``kind`` literal (the key in the config file)."""
        (kind,) = get_args(self.config_type.model_fields["kind"].annotation)
        return str(kind)


def by_kind(*kinds: SourceKind[Any]) -> Mapping[str, SourceKind[Any]]:
    table = {k.kind: k for k in kinds}
    if len(table) != len(kinds):
        raise ValueError("two source kinds share a 'kind' name")
    return table


SOURCE_KINDS: Mapping[str, SourceKind[Any]] = by_kind(
    SourceKind(camera.CameraSourceConfig, camera.build),
    SourceKind(folder.FolderSourceConfig, folder.build),
    SourceKind(synthetic.SyntheticSourceConfig, synthetic.build),
    SourceKind(genicam.GenicamSourceConfig, genicam.build),
)


def build_source(
    config: SourceConfig, triggered: bool = False, device: FrameSource | None = None
) -> FrameSource:
    """The source a config entry describes (not yet opened). ``device`` stands in for the hardware
    (a camera we cannot have here) behind the same interface, grabbed the way its kind grabs."""
    return SOURCE_KINDS[config.kind].build(config, SourceOptions(triggered, device))
