"""The page in a real headless Chromium against a running line: it loads, the live picture
changes, a rejected part shows in the gallery with its reason and opens with every reason, the
keyboard pauses and steps, the setup and counters views fill, and it fits a phone. Screenshots
are saved under the test's tmp path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support import wait_until
from tests.support.browser import chromium_browser
from tests.web.conftest import TOKEN, WebLine

# the live picture as drawn on a canvas (a data URL), or '' before the first one arrived
LIVE_PIXELS = """
const img = document.getElementById('live-cam0');
if (!img || !img.naturalWidth) return '';
const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png');
"""


def test_the_page_in_chromium_against_a_running_line(
    web_line: Callable[..., WebLine], tmp_path: Path
) -> None:
    app, _, url = web_line(health={"http_token": TOKEN})
    routes = app.line.watch.http._routes  # type: ignore[union-attr]
    browser = chromium_browser(tmp_path)
    try:
        browser.get(url + "/")  # no token: refused
        assert "access token required" in browser.text("body")
        browser.get(f"{url}/?token={TOKEN}")
        first = wait_until(lambda: browser.js(LIVE_PIXELS), timeout=30)
        assert wait_until(lambda: browser.js(LIVE_PIXELS) not in ("", first), timeout=30)  # live
        assert wait_until(lambda: "REJECT" in browser.text("#strip"), timeout=30)
        assert "no_solder_bridge" in browser.text("#strip")
        assert wait_until(lambda: browser.js("return document.getElementById('health').textContent") in (
            "ok", "degraded"), timeout=10)  # fmt: skip
        browser.screenshot(tmp_path / "web-live.png")

        browser.click("#strip .thumb")  # the newest reject, in full
        assert wait_until(lambda: browser.js("return document.getElementById('detail-img').naturalWidth"), 15)
        assert "no_solder_bridge" in browser.text("#detail-reasons") and "seq" in browser.text("#detail-info")
        browser.screenshot(tmp_path / "web-reject.png")
        title = browser.text("#detail-title")
        browser.keys("n")  # next, by keyboard
        assert wait_until(lambda: browser.text("#detail-title") != title, timeout=10)
        browser.keys("\ue00c")  # Escape
        assert browser.js("return document.getElementById('detail').hidden") is True

        browser.keys("p")  # pause holds the frame: the stream closes, the canvas shows it
        assert browser.text("#pause") == "Resume"
        assert browser.js("return document.getElementById('live-cam0').getAttribute('src')") is None
        assert browser.js("return document.getElementById('held-cam0').width") > 0
        assert wait_until(lambda: routes.streams == 0, timeout=15)  # the browser closed its stream
        assert browser.js("return getComputedStyle(document.getElementById('live-cam0')).display") == "none"
        browser.keys("p")
        assert wait_until(lambda: browser.js(LIVE_PIXELS), timeout=30)
        assert browser.js("return getComputedStyle(document.getElementById('held-cam0')).display") == "none"

        browser.keys("3")  # setup view: the image before inference and its figures
        assert wait_until(lambda: "focus" in browser.text("#setup-figures"), timeout=15)
        assert wait_until(lambda: browser.js("return document.getElementById('setup-img').naturalWidth"), 30)
        assert wait_until(lambda: "%" in browser.text("#setup-figures"), timeout=15)
        browser.screenshot(tmp_path / "web-setup.png")
        browser.keys("4")
        assert wait_until(lambda: "REJECT" in browser.text("#counts"), timeout=10)
        assert "engine" in browser.text("#components")
        browser.screenshot(tmp_path / "web-counters.png")

        browser.set_size(390, 844)  # a phone: nothing wider than the screen
        browser.keys("1")
        assert wait_until(lambda: browser.js(LIVE_PIXELS), timeout=30)
        assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        browser.screenshot(tmp_path / "web-phone.png")
    finally:
        browser.close()
