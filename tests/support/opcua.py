"""OPC UA test helpers: a free loopback port, the asyncua check, a client session and its waits,
and a small recipe control for the server alone (a line has its own, built from the config)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from inspector.app.interfaces import RecipeEntry
from inspector.errors import UnknownRecipe

MV_URI = "http://opcfoundation.org/UA/MachineVision"
OWN_URI = "urn:inspector:opcua"


def require_asyncua() -> None:
    """Skip without asyncua; under CI fail (the dev extra installs it)."""
    try:
        import asyncua  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(
                "asyncua is missing but CI is set: pip install -e '.[dev]' installs it", pytrace=False
            )
        pytest.skip("asyncua is missing (pip install 'inspector[opcua]')")


def free_endpoint(host: str = "127.0.0.1") -> str:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"opc.tcp://{host}:{port}/inspector"


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``predicate`` (sync or async) on the loop until truthy; fail past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


class EventCollector:
    """asyncua subscription handler keeping each event's fields."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        pass


async def vision_system(client: Any) -> Any:
    """The Objects child whose type is MachineVision's VisionSystemType, found as a generic client
    would: by browsing and comparing type definitions, not by a name we chose."""
    from asyncua import ua

    mv = await client.get_namespace_index(MV_URI)
    for node in await client.nodes.objects.get_children():
        if await node.read_type_definition() == ua.NodeId(1003, mv):
            return node
    pytest.fail("no VisionSystemType instance under Objects")


async def current_state(client: Any, system: Any) -> tuple[str, str]:
    """(VisionStateMachine state, AutomaticModeStateMachine state) as a client reads them."""
    mv = await client.get_namespace_index(MV_URI)
    machine = await system.get_child(f"{mv}:VisionStateMachine")
    top = await (await machine.get_child("0:CurrentState")).read_value()
    automatic = await machine.get_child([f"{mv}:AutomaticModeStateMachine", "0:CurrentState"])
    return top.Text, (await automatic.read_value()).Text or ""


def run(coroutine: Any, timeout: float = 60.0) -> Any:
    """Run a client scenario on a fresh event loop in this thread, bounded."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


PRODUCTS = (
    RecipeEntry(0, "base", "the config's base settings"),
    RecipeEntry(1, "pcb-a", "board A"),
    RecipeEntry(2, "pcb-b", "board B"),
)


class SwitchingRecipes:
    """A small real ``RecipeControl`` for the server without a line: switches at once on
    ``request`` and keeps every request (number, origin) it accepted."""

    def __init__(self, entries: Sequence[RecipeEntry] = PRODUCTS) -> None:
        self._entries = tuple(entries)
        self._active = self._entries[0]
        self._lock = threading.Lock()
        self.requests: list[tuple[int, str]] = []

    def recipes(self) -> Sequence[RecipeEntry]:
        return self._entries

    @property
    def active(self) -> RecipeEntry:
        with self._lock:
            return self._active

    def request(self, number: int, origin: str) -> None:
        entry = next((e for e in self._entries if e.number == number), None)
        if entry is None:
            raise UnknownRecipe(number)
        with self._lock:
            self.requests.append((number, origin))
            self._active = entry
