"""Optional local HTTP endpoints: ``GET /healthz`` (JSON) and ``GET /metrics`` (Prometheus text).

Standard-library server in its own thread, bound to 127.0.0.1 unless configured
otherwise. /healthz answers 200 while healthy (ok, or degraded if that counts as
healthy) and 503 otherwise, so a load balancer or a curl in a script can act on it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from inspector.errors import ConfigError
from inspector.health.metrics import PROMETHEUS_CONTENT_TYPE
from inspector.health.state import HealthSnapshot
from inspector.logging import get_logger

log = get_logger("health.http")
_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"]*")


def snapshot_json(snapshot: HealthSnapshot) -> dict[str, Any]:
    return {
        "state": snapshot.state.label,
        "summary": snapshot.summary(),
        "components": [
            {"name": c.name, "state": c.state.label, "detail": c.detail} for c in snapshot.components
        ],
    }


class Routes(Protocol):
    """More pages on the same server (the operator's web page): ``admit`` sees every request
    first (limits, access token) and answers a refused one itself; ``serve`` answers the paths
    it knows (True) and leaves the rest (False)."""

    def admit(self, request: BaseHTTPRequestHandler) -> bool: ...

    def serve(self, request: BaseHTTPRequestHandler, path: str) -> bool: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10.0  # seconds a client may take per read or write: a stalled one frees its thread

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        routes = self.server.routes
        if routes is not None and not routes.admit(self):
            return
        if path == "/healthz":
            snap = self.server.snapshot()
            code = 200 if snap.healthy(self.server.degraded_is_healthy) else 503
            body = json.dumps(snapshot_json(snap)).encode()
            self._reply(code, "application/json", body)
        elif path == "/metrics":
            self._reply(200, PROMETHEUS_CONTENT_TYPE, self.server.metrics().encode())
        elif routes is not None and routes.serve(self, path):
            return
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")

    def _reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # an access token given in the URL stays out of the log
        request = _TOKEN_IN_URL.sub(r"\1<redacted>", format % args)
        log.debug("http_request", client=self.address_string(), request=request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    snapshot: Callable[[], HealthSnapshot]
    metrics: Callable[[], str]
    degraded_is_healthy: bool
    routes: Routes | None


class HealthHttpServer:
    """The endpoints' server; ``start()`` binds (port 0 picks a free one), ``stop()`` joins."""

    def __init__(
        self,
        host: str,
        port: int,
        snapshot: Callable[[], HealthSnapshot],
        metrics: Callable[[], str],
        degraded_is_healthy: bool = True,
        routes: Routes | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._snapshot, self._metrics = snapshot, metrics
        self._degraded_is_healthy = degraded_is_healthy
        self._routes = routes
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            server = _Server((self.host, self.port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"health.http_host/http_port: cannot listen on {self.host}:{self.port}: {exc.strerror}"
            ) from None
        server.snapshot, server.metrics = self._snapshot, self._metrics
        server.degraded_is_healthy = self._degraded_is_healthy
        server.routes = self._routes
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="health-http", daemon=True
        )
        self._thread.start()
        log.info("health_http_listening", host=self.host, port=self.port)

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
