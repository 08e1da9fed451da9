"""A real NOTIFY_SOCKET listener (systemd's notify protocol) and a progress counter."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NotifyListener:
    """A unix datagram socket standing in for systemd's notify socket; collects messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []

    def drain(self) -> list[str]:
        while True:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                break
            self.messages.append((time.monotonic(), data.decode()))
        return [m for _, m in self.messages]

    def wait_for(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in m for m in self.drain()):
                return True
        return False

    def count(self, needle: str, since: float = 0.0) -> int:
        self.drain()
        return sum(1 for t, m in self.messages if t >= since and needle in m.split("\n"))

    def close(self) -> None:
        self.sock.close()


@contextmanager
def notify_listener() -> Iterator[NotifyListener]:
    # A short directory: unix socket paths are limited to 107 bytes.
    with tempfile.TemporaryDirectory(prefix="nfy", dir="/tmp") as d:
        listener = NotifyListener(Path(d) / "notify.sock")
        try:
            yield listener
        finally:
            listener.close()


class Counter:
    """A thread-safe progress counter, like a stage's processed count."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def inc(self, n: int = 1) -> None:
        with self._lock:
            self.value += n

    def __call__(self) -> int:
        return self.value
