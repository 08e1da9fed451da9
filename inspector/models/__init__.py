"""Shipped model files: ``demo-pcb-seg.pt``, the trained demo PCB model in inspector's safe format
(what ``inspector demo`` and ``engine.model: null`` run; see ``MODEL_CARD.md``).

Not code: the directory is a package only so the files install with ``inspector``.
"""
