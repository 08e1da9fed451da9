"""torchvision Mask R-CNN test-time settings an export takes (``--setting NAME=VALUE``).

A state_dict carries the weights, not these: a model evaluated with other values than
torchvision's defaults needs them given at export, or the graph (and the export's check
against eager torchvision) runs the defaults. Fewer proposals is also the speed lever on a CPU:
the box head runs on every proposal (1000 by default; v2's four-conv head most of its time).
"""

from __future__ import annotations

from collections.abc import Sequence

from inspector.errors import ModelError

# name -> (integer?, lowest, highest, what it is (torchvision's default))
SETTINGS: dict[str, tuple[bool, float, float, str]] = {
    "rpn_pre_nms_top_n_test": (True, 1, 10000, "proposals per FPN level before the RPN's NMS (1000)"),
    "rpn_post_nms_top_n_test": (True, 1, 10000, "proposals kept after the RPN's NMS for the box head (1000)"),
    "rpn_nms_thresh": (False, 0.0, 1.0, "IoU of the RPN's NMS (0.7)"),
    "rpn_score_thresh": (False, 0.0, 1.0, "proposals below this objectness are dropped (0.0)"),
    "box_score_thresh": (False, 0.0, 1.0, "detections below this score are dropped in the graph (0.05)"),
    "box_nms_thresh": (False, 0.0, 1.0, "IoU of the per-class NMS of the detections (0.5)"),
    "box_detections_per_img": (True, 1, 1000, "most detections per image (100)"),
}


def check_setting(name: str, value: float) -> float:
    """``value`` if ``name`` is a setting and it lies in its range; else one clear error."""
    if name not in SETTINGS:
        known = "; ".join(f"{key}: {what}" for key, (_, _, _, what) in SETTINGS.items())
        raise ModelError(f"--setting {name}: not a Mask R-CNN test-time setting; known: {known}")
    integer, low, high, _ = SETTINGS[name]
    if not low <= value <= high or (integer and value != int(value)):
        kind = "a whole number" if integer else "a number"
        raise ModelError(f"--setting {name}={value:g}: expected {kind} from {low:g} to {high:g}")
    return value


def builder_kwargs(settings: Sequence[tuple[str, float]]) -> dict[str, int | float]:
    """The settings as torchvision's builder takes them (counts as ints)."""
    return {name: int(value) if SETTINGS[name][0] else value for name, value in settings}
