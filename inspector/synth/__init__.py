"""Synthetic PCB solder-joint boards for the demo line, with exact instance ground truth."""

from inspector.synth.generator import BoardGenerator, Instance, board_rejected
from inspector.synth.layout import CLASS_NAMES, DEFECT_CLASS_IDS, DefectPolicy

__all__ = ["CLASS_NAMES", "DEFECT_CLASS_IDS", "BoardGenerator", "DefectPolicy", "Instance", "board_rejected"]
