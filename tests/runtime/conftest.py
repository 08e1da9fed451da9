"""Fixtures of the runtime tests: JSON log capture."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from inspector.logging import LogConfig, configure_logging


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.stream.getvalue().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if name is None or event.get("event") == name:
                out.append(event)
        return out


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    configure_logging(LogConfig(format="json", level="debug"), stream=capture.stream)
    yield capture
    configure_logging(LogConfig(format="json"))
