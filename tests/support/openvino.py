"""What this machine's OpenVINO CPU plugin can run, for the tests and benchmarks that depend on it."""

from __future__ import annotations

from inspector.engine.backends.openvino_model import cpu_capabilities, import_openvino


def openvino_cpu_capabilities() -> list[str]:
    """The CPU plugin's OPTIMIZATION_CAPABILITIES (BF16, FP16, INT8, ...), read as the backend reads
    them (OpenVINO imported without its telemetry)."""
    return cpu_capabilities(import_openvino().Core())
