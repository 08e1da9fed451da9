"""System tools some tests need (systemd-analyze, jq, promtool): skip without them, fail under CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> None:
    """Skip without ``name`` locally; under CI fail, so CI cannot pass without the tool's checks."""
    if shutil.which(name) is not None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{name} is not installed but CI is set: .ci/run must install it", pytrace=False)
    pytest.skip(f"{name} not installed (.ci/run installs it)")
