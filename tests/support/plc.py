"""PLC test helpers: quick client configs and parts with a given verdict."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from inspector.messages import FrameMsg, Reason, Verdict, VerdictCode
from inspector.plc import PlcConfig

IMAGE = np.zeros((4, 4, 3), np.uint8)
# Client timeouts short enough for fault tests to stay fast.
QUICK = {"role": "client", "timeout_ms": 50, "retries": 0, "reconnect_min_ms": 20, "reconnect_max_ms": 200}


def quick_config(port: int, **overrides: Any) -> PlcConfig:
    """Client config with short timeouts so fault tests stay fast.

    The pulse window is wide unless a test sets ``pulses.late_ms``: these tests count pulses, and
    a loaded machine must not turn an on-time part into a late one (tests of 'late' set their own).
    """
    base: dict[str, Any] = {**QUICK, "port": port}
    pulses = {"late_ms": 5000, **overrides.pop("pulses", {})}
    base.update(overrides)
    return PlcConfig(**base, pulses=pulses)


def verdict(code: VerdictCode, rule_code: int = 0, measurements: tuple[float, ...] = ()) -> Verdict:
    reasons = (Reason(rule="test", code=rule_code),) if rule_code else ()
    return Verdict(code=code, reasons=reasons, measurements=measurements)


def frame(part_id: int, v: Verdict | None, t_capture: float | None = None, seq: int = 0) -> FrameMsg:
    return FrameMsg(
        seq=seq or part_id,
        source_id="cam0",
        t_capture=time.monotonic() if t_capture is None else t_capture,
        image=IMAGE,
        part_id=part_id,
        verdict=v,
    )


def passed_part(seq: int, t_capture: float) -> FrameMsg:
    """A free-run part (part id = seq) with a PASS verdict."""
    return FrameMsg(seq=seq, source_id="cam0", t_capture=t_capture, image=IMAGE, part_id=seq,
                    verdict=Verdict(VerdictCode.PASS))  # fmt: skip
