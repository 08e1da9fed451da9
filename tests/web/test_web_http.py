"""The page's HTTP side on a running line: access token, request limits, path traversal, streams
to several viewers, a stalled viewer that costs frames and no parts, the gallery from the archive."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from inspector.config.checks import check_line
from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError
from tests.support import wait_until
from tests.support.logs import LogCapture
from tests.web.conftest import TOKEN, WebLine

StartLine = Callable[..., WebLine]


def get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)  # the path goes out as written
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def raw(url: str, request: bytes) -> int:
    """The status code the server answers a raw request with."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        head = sock.recv(4096).decode("latin-1")
    return int(head.split(" ", 2)[1])


def test_the_page_and_its_data_are_served(web_line: StartLine) -> None:
    _, _, url = web_line()
    status, headers, body = get(url, "/")
    assert status == 200 and b"/static/app.js" in body and "Content-Security-Policy" in headers
    for name in ("app.js", "app.css"):
        assert get(url, f"/static/{name}")[0] == 200
    assert wait_until(lambda: json.loads(get(url, "/api/gallery")[2])["parts"], timeout=15)
    parts = json.loads(get(url, "/api/gallery")[2])["parts"]
    first = parts[0]
    assert first["verdict"] == "REJECT" and first["reasons"][0]["rule"] == "no_solder_bridge"
    assert {"seq", "part_id", "time", "timings_ms", "camera"} <= set(first)
    status, headers, jpeg = get(url, f"/api/gallery/{first['id']}.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    state = json.loads(get(url, "/api/status")[2])
    assert state["camera_ids"] == ["cam0"] and state["health"]["components"]
    assert state["since_start"]["verdicts"].get("REJECT", 0) >= 1
    assert state["cameras"]["cam0"]["exposure"] == "n/a"  # a folder of files knows no exposure
    assert get(url, "/api/gallery/999999.jpg")[0] == 404


def test_a_configured_token_is_required_everywhere_but_healthz(web_line: StartLine, logs: LogCapture) -> None:
    _, _, url = web_line(health={"http_token": TOKEN})
    assert get(url, "/")[0] == 401
    assert get(url, "/metrics")[0] == 401
    assert get(url, "/api/status")[0] == 401
    assert get(url, "/stream/live/cam0")[0] == 401
    assert get(url, "/", {"Authorization": "Bearer wrong-token-0123456789"})[0] == 403
    assert get(url, "/api/status?token=nearly-" + TOKEN)[0] == 403
    assert get(url, "/healthz")[0] in (200, 503)
    assert get(url, "/metrics", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    status, headers, _ = get(url, f"/?token={TOKEN}")
    assert status == 200 and "HttpOnly" in headers["Set-Cookie"]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert get(url, "/api/status", {"Cookie": cookie})[0] == 200
    assert get(url, "/api/status", {"X-Inspector-Token": TOKEN})[0] == 200
    requests = [e["request"] for e in logs.events("http_request")]
    assert any("token=<redacted>" in r for r in requests) and not any(TOKEN in r for r in requests)


def test_the_token_guards_metrics_with_the_page_off(web_line: StartLine) -> None:
    _, _, url = web_line(health={"http_token": TOKEN}, web={"enabled": False})
    assert get(url, "/metrics")[0] == 401
    assert get(url, "/metrics", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert get(url, "/", {"Authorization": f"Bearer {TOKEN}"})[0] == 404  # no page
    assert get(url, "/?" + "a" * 5000)[0] == 414


def test_path_traversal_and_unknown_files_are_refused(web_line: StartLine) -> None:
    _, _, url = web_line()
    for path in (
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fconfig.py",
        "/static/..\\..\\config.py",
        "/api/gallery/%00.jpg",
    ):
        assert get(url, path)[0] == 400, path
    for path in (
        "/static/config.py",
        "/static/index.html.bak",
        "/static/",
        "/api/setup/nocam",
        "/stream/live/x/../y",
    ):
        assert get(url, path)[0] in (400, 404), path


def test_oversized_requests_and_bodies_are_refused(web_line: StartLine) -> None:
    _, _, url = web_line()
    assert get(url, "/?" + "a" * 5000)[0] == 414
    assert get(url, "/", {f"X-Filler-{i}": "b" * 900 for i in range(12)})[0] == 431
    assert raw(url, b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello") == 413
    assert raw(url, b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 413
    assert raw(url, b"POST /api/status HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}") == 501
    assert raw(url, b"GET /" + b"x" * 70000 + b" HTTP/1.0\r\n\r\n") == 414


def read_frames(url: str, path: str, count: int) -> list[bytes]:
    """``count`` JPEG pictures from an MJPEG stream."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        assert reply.status == 200 and reply.getheader("Content-Type", "").startswith(
            "multipart/x-mixed-replace"
        )
        pictures = []
        while len(pictures) < count:
            line = reply.fp.readline()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                while reply.fp.readline() not in (b"\r\n", b""):
                    pass
                pictures.append(reply.fp.read(length))
        return pictures
    finally:
        conn.close()


def test_frames_are_encoded_only_while_watched_and_reach_two_viewers(web_line: StartLine) -> None:
    app, out, url = web_line()
    web = app.line.outputs.records[-1]
    assert wait_until(lambda: len(out.messages) >= 20, timeout=15)
    assert web.encoder.encoded == 0  # nobody watched: nothing drawn or encoded
    live = read_frames(url, "/stream/live/cam0", 3)
    setup = read_frames(url, "/stream/setup/cam0", 2)
    assert all(p[:2] == b"\xff\xd8" for p in (*live, *setup)) and len(set(live)) > 1
    metrics = get(url, "/metrics")[2].decode()
    assert "inspector_web_pictures_encoded_total" in metrics and "inspector_web_streams " in metrics
    figures = json.loads(get(url, "/api/setup/cam0")[2])["figures"]
    assert len(figures["histogram"]) == 64 and figures["focus"] > 0 and 0 <= figures["clipped"] <= 1


def test_a_stalled_viewer_costs_frames_not_parts(web_line: StartLine) -> None:
    app, out, url = web_line(web={"max_viewers": 1})
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /stream/live/cam0 HTTP/1.0\r\n\r\n")  # and never read
        routes = app.line.watch.http._routes  # type: ignore[union-attr]
        assert wait_until(lambda: routes.streams == 1, timeout=10)
        assert get(url, "/stream/live/cam0")[0] == 503  # max_viewers: 1
        before = len(out.messages)
        assert wait_until(lambda: len(out.messages) >= before + 100, timeout=30)
    assert all(m.verdict is not None for m in out.messages)
    assert wait_until(lambda: routes.streams == 0, timeout=15)  # the stalled viewer's thread ends


def test_the_gallery_shows_archived_overlays(web_line: StartLine, tmp_path: Path) -> None:
    archive = {"enabled": True, "dir": str(tmp_path / "archive"), "min_free_mib": 0}
    app, _, url = web_line(archive=archive)
    assert wait_until(lambda: list((tmp_path / "archive").rglob("*.overlay.png")), timeout=15)

    def archived_picture() -> bytes | None:
        for part in json.loads(get(url, "/api/gallery")[2])["parts"]:
            status, _, jpeg = get(url, f"/api/gallery/{part['id']}.jpg")
            if status == 200:
                return jpeg
        return None

    assert wait_until(archived_picture, timeout=15)[:2] == b"\xff\xd8"
    web = app.line.outputs.records[-1]
    assert all(entry.msg is None for entry in web.gallery._entries)  # the archive holds the pictures


def test_binding_off_loopback_needs_a_token(tmp_path: Path) -> None:
    source = {"kind": "folder", "id": "cam0", "path": str(tmp_path)}
    config = InspectorConfig(sources=[source], health={"http": True, "http_host": "0.0.0.0"})
    with pytest.raises(ConfigError) as caught:
        check_line(config, engine_given=True, output_given=True)
    assert "health.http_token" in str(caught.value)
    token = {"http": True, "http_host": "0.0.0.0", "http_token": TOKEN}
    check_line(InspectorConfig(sources=[source], health=token), engine_given=True, output_given=True)
    path = tmp_path / "line.yaml"
    source_line = f"sources: [{{kind: folder, id: cam0, path: {tmp_path}}}]\n"
    path.write_text(source_line + "health: {http: true, http_host: 0.0.0.0}\n")
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "health.http_token" in done.stderr + done.stdout
