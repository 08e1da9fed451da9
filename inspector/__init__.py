"""inspector: an industrial inspection daemon (YOLOv8-seg on the line, verdicts to a PLC)."""

__version__ = "0.1.0"
