"""Pass or fail of a soak run, with the reasons: every fault injected and recovered from, no
verdict lost or left hanging, a clean stop; and the arithmetic of "lost" on the line and at the PLC.

Degraded health at the end is allowed (a full-speed line keeps its queues full: back-pressure),
but each recovery is checked on its own: the PLC link is up again, nothing waits at the PLC
after the drain, and the camera delivered frames after its last fault.
"""

from __future__ import annotations

from typing import Any


def failures(report: dict[str, Any], requested: dict[str, int], frames: int | None) -> list[str]:
    """Why the run failed, one line per reason; empty when it passed."""
    why = _accounting(report, frames) + _faults(report, requested)
    if not report.get("plc_link_up_at_end", False):
        why.append("PLC link not up at the end: it did not come back after the last outage")
    if not report.get("clean_stop", False):
        why.append("the line did not stop cleanly (drain deadline missed or aborted)")
    if report.get("health_state_at_end") == "failing":
        why.append(f"health failing at the end: {report.get('health_at_end')}")
    if report.get("exit_code") is not None:
        why.append(f"a watchdog requested a restart (exit code {report['exit_code']})")
    if report.get("ended") not in ("duration", "frames done"):
        why.append(f"the line ended early: {report.get('ended')}")
    return why


def line_verdicts_lost(captured: int, answered: int) -> int:
    """Captured frames the output never answered. A frame dropped by a full queue is answered as
    well (fail-safe 901), so drops are part of ``answered`` and not subtracted again."""
    return captured - answered


# What each PLC-side figure is (inspector/plc/state.py, freerun.py, core.py), free-run mode:
PLC_FIGURES = (
    "submitted",  # verdicts handed to the PLC output by the line (on time or not)
    "deadline_failsafes",  # parts it failed safe itself at the end of their pulse window (900)
    "failed_at_shutdown",  # parts still open when it stopped, failed safe then (905; from the log)
    "late_verdicts",  # verdicts after their part's deadline: dropped, the part already answered
    "delivered",  # result blocks written to the PLC
    "dropped",  # results dropped because its buffer was full (overrun)
    "pending",  # results still held (link down) when it stopped
)


def plc_verdicts_lost(plc: dict[str, int]) -> int:
    """Results the PLC output took on but neither wrote, dropped nor still holds: 0 when every
    part got exactly one result. It takes on each verdict submitted and each part it failed safe
    itself; a late verdict adds none. Negative: more results than parts (one answered twice)."""
    taken = plc["submitted"] + plc["deadline_failsafes"] + plc["failed_at_shutdown"] - plc["late_verdicts"]
    return taken - plc["delivered"] - plc["dropped"] - plc["pending"]


def _accounting(report: dict[str, Any], frames: int | None) -> list[str]:
    why = []
    if report["verdicts_lost"]:
        why.append(f"{report['verdicts_lost']} verdicts lost on the line (captured - answered)")
    if report["plc_verdicts_lost"]:
        lost = report["plc_verdicts_lost"]
        why.append(
            f"{lost} verdicts lost at the PLC (submitted + deadline fail-safes + failed at shutdown"
            " - late verdicts - delivered - dropped - pending)"
        )
    plc = report.get("plc") or {}
    if plc.get("pending", 0):
        why.append(f"{plc['pending']} verdicts still pending at the PLC after the drain")
    if plc.get("dropped", 0):  # counted, but that part got no block and no pulse: a reject passed
        why.append(f"{plc['dropped']} results dropped at the PLC output (buffer overrun)")
    if frames is not None and report["captured"] < frames:
        why.append(f"only {report['captured']} of the {frames} requested frames were captured")
    return why


def _faults(report: dict[str, Any], requested: dict[str, int]) -> list[str]:
    faults = report["faults"]
    why = []
    for key, wanted in requested.items():
        if faults[key] < wanted:
            why.append(f"only {faults[key]} of {wanted} {key.replace('_', ' ')} were injected")
    for error in faults["injection_errors"]:
        why.append(f"fault injection error: {error}")
    if requested.get("camera_faults", 0) > 0 and faults["frames_after_last_camera_fault"] == 0:
        why.append("no frame captured after the last camera fault: the camera did not come back")
    return why
