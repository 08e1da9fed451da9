"""The operator's web page: live frames with the overlay, the reject gallery, a setup view per
camera and the line's counters, served read-only on the health endpoints' port.

The line hands every part to ``WebOutput.submit`` (an ``Output``), which only keeps references:
the latest part per camera and the last non-PASS parts. Pictures are drawn and encoded on the
web's own thread, only while someone watches, at a capped rate (``frames.py``); the HTTP side
(``routes.py``) streams what is ready and drops what a slow browser cannot take.
"""
