"""Shipped model files: ``demo-pcb-seg.pt`` (the demo PCB model, inspector's safe format) once trained.

Not code: the directory is a package only so the files install with ``inspector``.
"""
