"""Pipeline vs raw engine throughput (a script, not a test): same model, same frames, medians and ratio.

    PYTHONPATH=. python tests/bench/bench_pipeline.py [--model M] [--frames 64] [--repeats 3] [--batch 1]
        [--size 640x480] [--device auto] [--threads 2] [--imgsz N]

Without --model it uses the shipped demo model (or the labelled stand-in until it exists).
Record the printed figures in tests/bench/RESULTS.md.
"""

from __future__ import annotations

import os
import sys

# OpenMP's default active wait spins; on a shared, oversubscribed CPU that made torch several
# times slower in some threads. Passive waiting keeps both sides of the comparison honest.
# Must be set before torch loads; pass OMP_WAIT_POLICY=active to measure the default.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from inspector.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
