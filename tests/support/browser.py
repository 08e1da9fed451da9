"""A real headless Chromium driven through Debian's chromedriver, over the W3C WebDriver HTTP
protocol with urllib (no Selenium: nothing to download, the protocol is a few JSON calls).

``chromium_browser(tmp_path)`` starts chromedriver on a free loopback port and one session;
``close()`` ends both. Without chromium/chromedriver it skips, and fails under CI=true.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.tools import require_tool

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One WebDriver session on a headless Chromium."""

    def __init__(self, tmp_path: Path, size: tuple[int, int] = (1366, 768), timeout: float = 30.0) -> None:
        self.port = _free_port()
        self.log = (tmp_path / "chromedriver.log").open("wb")
        self.driver = subprocess.Popen(
            ["chromedriver", f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self.log,
            stderr=self.log,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = ""
        try:
            self._wait_ready(timeout)
            flags = [
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp_path / 'chromium-profile'}",
                f"--window-size={size[0]},{size[1]}",
            ]
            caps = {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": shutil.which("chromium") or "chromium", "args": flags},
            }
            reply = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout)
            self.session = reply["sessionId"]
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._call("GET", "/status", None, 2.0).get("ready"):
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise TimeoutError("chromedriver did not start")

    def _call(self, method: str, path: str, body: Any, timeout: float = 30.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return json.loads(reply.read())["value"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"webdriver {method} {path}: {exc.read()[:500]!r}") from None

    def cmd(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return str(self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def click(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def keys(self, text: str) -> None:
        self.cmd("POST", f"/element/{self.find('body')}/value", {"text": text})

    def text(self, css: str) -> str:
        return str(self.cmd("GET", f"/element/{self.find(css)}/text"))

    def set_size(self, width: int, height: int) -> None:
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))
        return path

    def close(self) -> None:
        try:
            if self.session:
                self._call("DELETE", f"/session/{self.session}", None, 15.0)
        except (OSError, RuntimeError, urllib.error.URLError):
            pass
        finally:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait(5)
            self.log.close()


def chromium_browser(tmp_path: Path, size: tuple[int, int] = (1366, 768)) -> Browser:
    """A started browser; skips without Debian's chromium and chromium-driver (fails under CI)."""
    require_tool("chromium")
    require_tool("chromedriver")
    return Browser(tmp_path, size)
