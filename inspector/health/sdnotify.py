"""systemd's notify protocol without a dependency: datagrams to ``$NOTIFY_SOCKET``.

See sd_notify(3): a message is newline-separated ``KEY=VALUE`` assignments sent
as one datagram to the AF_UNIX socket named in ``$NOTIFY_SOCKET`` (a leading
``@`` means the abstract namespace). Without that variable nothing is sent.
"""

from __future__ import annotations

import os
import re
import socket

from inspector.logging import get_logger

log = get_logger("health.sdnotify")

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
STATUS_MAX_CHARS = 240  # one line of `systemctl status`; details past that belong in the journal

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def status_text(text: str, limit: int = STATUS_MAX_CHARS) -> str:
    """One clean line for ``STATUS=``: a newline would end the assignment and start another one."""
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def _address(path: str) -> str:
    return "\0" + path[1:] if path.startswith("@") else path


def sd_notify(message: str, socket_path: str | None = None) -> bool:
    """Send one notification; True if it was delivered to a socket.

    ``socket_path`` overrides ``$NOTIFY_SOCKET``. Failures are logged at debug
    level and return False: a missing supervisor must never stop the line.
    """
    path = socket_path if socket_path is not None else os.environ.get(NOTIFY_SOCKET_ENV, "")
    if not path or not (path.startswith("/") or path.startswith("@")):
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(1.0)
        sock.connect(_address(path))
        sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.debug("sd_notify_failed", socket=path, error=str(exc))
        return False
    finally:
        sock.close()
    return True


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """systemd's watchdog period for this process (``$WATCHDOG_USEC``), or None when not enabled.

    ``$WATCHDOG_PID``, when set, must name this process (sd_watchdog_enabled(3)).
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6


class SdNotifier:
    """Keeps the socket path fixed at construction and remembers the last STATUS sent."""

    def __init__(self, enabled: bool = True, socket_path: str | None = None) -> None:
        self.socket_path = socket_path if socket_path is not None else os.environ.get(NOTIFY_SOCKET_ENV, "")
        self.enabled = enabled and bool(self.socket_path)
        self._last_status = ""
        self.sent = 0

    def send(self, *assignments: str) -> bool:
        if not self.enabled:
            return False
        ok = sd_notify("\n".join(assignments), self.socket_path)
        self.sent += int(ok)
        return ok

    def ready(self, status: str) -> bool:
        status = self._last_status = status_text(status)
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def pulse(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, status: str, force: bool = False) -> bool:
        status = status_text(status)
        if status == self._last_status and not force:
            return False
        self._last_status = status
        return self.send(f"STATUS={status}")

    def stopping(self, status: str) -> bool:
        return self.send("STOPPING=1", f"STATUS={status_text(status)}")
