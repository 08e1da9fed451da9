"""The README's screenshot of the page: the demo line (shipped model, synthetic PCB camera)
with the page on, in headless Chromium at 1366x768 (a script, not a test).

    PYTHONPATH=. python tests/web/screenshot.py deploy/web-page.png [--port 9180]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.browser import Browser

THUMBS = "return [...document.querySelectorAll('#strip .thumb img')].filter((i) => i.naturalWidth).length;"
LIVE = "const i = document.getElementById('live-pcb0'); return !!(i && i.naturalWidth);"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--port", type=int, default=9180)
    args = parser.parse_args()
    env = {
        **os.environ,
        "INSPECTOR_HEALTH__HTTP": "true",
        "INSPECTOR_HEALTH__HTTP_PORT": str(args.port),
        "OMP_WAIT_POLICY": "passive",
    }
    cmd = [sys.executable, "-m", "inspector", "demo", "--no-plc", "--frames", "100000", "--seed", "77"]
    demo = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            browser = Browser(Path(tmp))
            try:
                url = f"http://127.0.0.1:{args.port}/"
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    try:
                        browser.get(url)
                        break
                    except RuntimeError:  # the demo still loads its model
                        time.sleep(2)
                while time.monotonic() < deadline and not (browser.js(LIVE) and browser.js(THUMBS) >= 3):
                    time.sleep(1)
                time.sleep(2)
                browser.screenshot(args.out)
            finally:
                browser.close()
    finally:
        demo.terminate()
        demo.wait(60)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
