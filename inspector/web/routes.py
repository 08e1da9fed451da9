"""The page's HTTP side, on the health server: request limits, the access token, static files,
JSON, and MJPEG streams.

Every request passes ``admit`` first: a long URL (414), large headers (431), a request body
(413), a path with ``..``, a backslash or a NUL (400), and, when a token is configured, a request
without it (401) or with a wrong one (403; ``/healthz`` stays open for load balancers) are
answered there and go no further. Files are served from a fixed table of the package's own
static files, never by joining a path from the URL, so no URL reaches the file system.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote

from inspector.health.metrics import Metric
from inspector.logging import get_logger
from inspector.web.frames import KINDS, SETUP
from inspector.web.output import WebOutput

log = get_logger("web")

MAX_URL = 2048
MAX_HEADER_BYTES = 8192
COOKIE = "inspector_token"
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'",
}
_STREAM = re.compile(r"^/stream/(live|setup)/([A-Za-z0-9_.-]{1,64})$")
_SETUP = re.compile(r"^/api/setup/([A-Za-z0-9_.-]{1,64})$")
_PICTURE = re.compile(r"^/api/gallery/([0-9]{1,12})\.jpg$")
BOUNDARY = "inspector-frame"


def _static_files() -> dict[str, bytes]:
    folder = resources.files("inspector.web") / "static"
    return {name: (folder / name).read_bytes() for name in (*STATIC, "index.html")}


class Gate:
    """The request limits and the access token alone (``Routes`` serving nothing): what guards
    /metrics when the page is off."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._lock = threading.Lock()
        self.refused = 0

    def serve(self, request: BaseHTTPRequestHandler, path: str) -> bool:
        return False

    # -- admission -----------------------------------------------------------------------
    def admit(self, request: BaseHTTPRequestHandler) -> bool:
        refusal = self._limits(request) or self._access(request)
        if refusal is None:
            return True
        with self._lock:
            self.refused += 1
        code, text = refusal
        extra = {"WWW-Authenticate": 'Bearer realm="inspector"'} if code == 401 else {}
        reply(request, code, "text/plain; charset=utf-8", (text + "\n").encode(), extra)
        return False

    @staticmethod
    def _limits(request: BaseHTTPRequestHandler) -> tuple[int, str] | None:
        if len(request.path) > MAX_URL:
            return 414, f"URL longer than {MAX_URL} characters"
        size = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if size > MAX_HEADER_BYTES:
            return 431, f"request headers larger than {MAX_HEADER_BYTES} bytes"
        length = request.headers.get("Content-Length", "0").strip() or "0"
        if request.headers.get("Transfer-Encoding") or length != "0":
            return 413, "this server takes no request bodies"
        path = unquote(request.path.split("?", 1)[0])
        if ".." in path.split("/") or "\\" in path or "\x00" in path or "//" in path:
            return 400, "bad path"
        return None

    def _access(self, request: BaseHTTPRequestHandler) -> tuple[int, str] | None:
        if self.token is None or request.path.split("?", 1)[0] == "/healthz":
            return None
        given = presented_token(request)
        if given is None:
            return 401, "access token required (header Authorization: Bearer, ?token= or cookie)"
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, "wrong access token"
        return None


class WebRoutes(Gate):
    """``admit`` and ``serve`` for ``health.http.HealthHttpServer`` (its ``Routes``): the page."""

    def __init__(self, output: WebOutput, token: str | None) -> None:
        super().__init__(token)
        self.output = output
        self.files = _static_files()
        self.streams = 0
        self.dropped = 0  # pictures a viewer skipped: newer ones came before it took the last

    def serve(self, request: BaseHTTPRequestHandler, path: str) -> bool:
        if path in ("/", "/index.html"):
            reply(request, 200, "text/html; charset=utf-8", self.files["index.html"], self._cookie(request))
        elif path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name not in STATIC:
                return False
            reply(request, 200, STATIC[name], self.files[name], {"Cache-Control": "max-age=300"})
        elif path == "/api/status":
            status = self.output.status()
            status["page"] = {**status.get("page", {}), **self.figures()}
            status["camera_ids"] = self.output.cameras()
            send_json(request, status)
        elif path == "/api/gallery":
            send_json(request, {"parts": self.output.gallery.listing()})
        elif match := _PICTURE.match(path):
            jpeg = self.output.gallery.picture(int(match[1]), self.output.config.jpeg_quality)
            if jpeg is None:
                return False
            reply(request, 200, "image/jpeg", jpeg, {"Cache-Control": "max-age=3600"})
        elif match := _SETUP.match(path):
            return self._setup(request, match[1])
        elif match := _STREAM.match(path):
            return self._stream(request, match[1], match[2])
        else:
            return False
        return True

    def figures(self) -> dict[str, int]:
        with self._lock:
            return {"streams": self.streams, "dropped": self.dropped, "refused": self.refused}

    def metrics(self) -> list[Metric]:
        """The page's own figures for /metrics."""
        figures = self.figures()
        return [
            Metric.single(
                "inspector_web_streams", "gauge", "Live streams open on the page.", figures["streams"]
            ),
            Metric.single(
                "inspector_web_pictures_encoded_total",
                "counter",
                "Pictures drawn and JPEG-encoded for the page's viewers.",
                self.output.encoder.encoded,
            ),
            Metric.single(
                "inspector_web_pictures_dropped_total",
                "counter",
                "Pictures a viewer skipped because newer ones came first (a slow browser).",
                figures["dropped"],
            ),
            Metric.single(
                "inspector_web_requests_refused_total",
                "counter",
                "Requests refused: no or wrong token, too long, a body, a bad path.",
                figures["refused"],
            ),
        ]

    def _cookie(self, request: BaseHTTPRequestHandler) -> dict[str, str]:
        """A token given in the URL is kept as a cookie, so the page's own requests carry it."""
        if self.token is None or query_token(request) is None:
            return {}
        return {"Set-Cookie": f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"}

    def _setup(self, request: BaseHTTPRequestHandler, camera: str) -> bool:
        if camera not in self.output.cameras():
            return False
        picture = self.output.encoder.channel(camera, SETUP).picture
        line = self.output.line
        info = dict(line.cameras().get(camera, {})) if line is not None else {}
        figures = picture.figures.as_json() if picture is not None and picture.figures else None
        send_json(
            request, {"camera": camera, **info, "seq": picture.seq if picture else None, "figures": figures}
        )
        return True

    def _stream(self, request: BaseHTTPRequestHandler, kind: str, camera: str) -> bool:
        assert kind in KINDS
        if camera not in self.output.cameras():
            return False
        with self._lock:
            full = self.streams >= self.output.config.max_viewers
            self.streams += 0 if full else 1
        if full:
            reply(request, 503, "text/plain; charset=utf-8", b"too many viewers\n", {"Retry-After": "5"})
            return True
        encoder = self.output.encoder
        channel = encoder.hold(camera, kind, +1)
        try:
            request.send_response(200)
            request.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            request.send_header("Cache-Control", "no-store")
            for name, value in _SECURITY_HEADERS.items():
                request.send_header(name, value)
            request.end_headers()
            version = 0
            while not encoder.stop_event.is_set() and self.output.started.is_set():
                picture = channel.wait_newer(version, 1.0)
                if picture is None:
                    continue
                if version:
                    with self._lock:
                        self.dropped += picture.version - version - 1
                version = picture.version
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(picture.jpeg)}\r\n"
                request.wfile.write(f"{head}X-Seq: {picture.seq}\r\n\r\n".encode() + picture.jpeg + b"\r\n")
                request.wfile.flush()
        except OSError:  # the viewer left (or stalled past the socket timeout)
            pass
        finally:
            encoder.hold(camera, kind, -1)
            with self._lock:
                self.streams -= 1
        return True


def presented_token(request: BaseHTTPRequestHandler) -> str | None:
    """The token a request carries: Authorization: Bearer, X-Inspector-Token, ?token=, or cookie."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    header = request.headers.get("X-Inspector-Token")
    if header:
        return header.strip()
    from_query = query_token(request)
    if from_query is not None:
        return from_query
    try:
        morsel = SimpleCookie(request.headers.get("Cookie", "")).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


def query_token(request: BaseHTTPRequestHandler) -> str | None:
    values = parse_qs(request.path.partition("?")[2]).get("token")
    return values[0] if values else None


def reply(
    request: BaseHTTPRequestHandler,
    code: int,
    content_type: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    request.send_response(code)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in {**_SECURITY_HEADERS, "Cache-Control": "no-store", **(headers or {})}.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def send_json(request: BaseHTTPRequestHandler, value: Any) -> None:
    reply(request, 200, "application/json", json.dumps(value, default=str).encode())
