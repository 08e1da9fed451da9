"""JSON log capture for tests (the ``logs`` fixture in tests/conftest.py)."""

from __future__ import annotations

import io
import json
from typing import Any


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
