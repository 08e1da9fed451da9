"""The soak harness's processes: the PLC peer (the simulator in a process of its own, told over a
pipe when to fail) answers each command and leaves no process behind."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parent
sys.path.insert(0, str(SOAK))
try:
    from plc_peer import PlcPeer
finally:
    sys.path.remove(str(SOAK))


def test_plc_peer_serves_on_loopback_fails_on_command_and_exits_on_close() -> None:
    with PlcPeer() as peer:
        proc = peer.proc
        assert proc is not None and peer.port > 0
        with socket.create_connection(("127.0.0.1", peer.port), timeout=10):
            pass
        peer.drop_connections()
        peer.stop_answering(True)
        peer.stop_answering(False)
        with pytest.raises(RuntimeError, match="unknown command 'reboot'"):
            peer.command("reboot")
    assert proc.returncode == 0  # EOF on its stdin: it stopped its simulator and exited


def test_a_gone_plc_peer_is_an_error_not_a_hang() -> None:
    with PlcPeer() as peer:
        assert peer.proc is not None
        peer.proc.kill()
        peer.proc.wait(10)
        with pytest.raises((ConnectionError, BrokenPipeError)):
            peer.drop_connections()
