"""A running line (folder camera, BlobEngine, the demo's defect rule) with the page on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector.app import App
from tests.support.parts import RecordingOutput, supervised_line

TOKEN = "line-7-token-0123456789"
WebLine = tuple[App, RecordingOutput, str]


@pytest.fixture
def web_line(tmp_path: Path) -> Iterator[Callable[..., WebLine]]:
    """Starts a line (health.http on port 0, the page on) with extra config sections; stops it after."""
    started: list[App] = []

    def start(**sections: Any) -> WebLine:
        health = {"http": True, "http_port": 0, **sections.pop("health", {})}
        app, out = supervised_line(tmp_path, health=health, **sections)
        started.append(app)
        app.start()
        assert app.line.watch.http is not None
        return app, out, app.line.watch.http.url

    yield start
    for app in started:
        app.request_shutdown("test over")
        assert app.run_until_stopped()
