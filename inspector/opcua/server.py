"""The OPC UA server as one of the line's outputs: asyncua on its own thread and event loop.

``submit`` only turns the part into a small ``PartResult`` and queues it (bounded: when full the
result is dropped and counted, the line never waits for OPC UA clients). The server thread
publishes each queued result, follows the line's state every ``state_interval_s``, and on
``stop`` publishes what is still queued, then closes the endpoint.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inspector.errors import ConfigError, InspectorError
from inspector.logging import get_logger
from inspector.messages import FrameMsg
from inspector.opcua.access import Passwords
from inspector.opcua.config import OpcUaConfig, SecurityMode, SecurityPolicy
from inspector.opcua.state import PartResult, RecipeBook, StateSource

log = get_logger("inspector.opcua")
IDLE_S = 0.01  # how long the server loop sleeps when no result waits
APPLICATION_URI = "urn:inspector:vision-system"
BATCH = 64  # results published per loop turn, so the state keeps following under load


@dataclass(frozen=True, slots=True)
class OpcUaStats:
    published: int
    dropped: int  # results the full queue refused
    queued: int
    errors: int  # results that failed to publish (logged)


class OpcUaServer:
    """An ``Output`` (start/stop/submit) serving OPC 40100 Machine Vision; see the README."""

    name = "opcua"

    def __init__(
        self,
        config: OpcUaConfig,
        state: StateSource,
        recipes: RecipeBook | None = None,
        cameras: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.state = state
        self.recipes = recipes
        self.cameras = tuple(cameras)
        self.passwords = Passwords(config.users)  # env and files read now: a missing one stops the build
        self._queue: queue.Queue[PartResult] = queue.Queue(maxsize=config.queue_size)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.published = self.dropped = self.errors = 0
        self._follow_error = ""

    # -- the line's side ---------------------------------------------------------------------
    def start(self) -> None:
        """Serve; returns once clients can connect (the NodeSet import takes a second or two)."""
        if importlib.util.find_spec("asyncua") is None:
            raise ConfigError(
                "OPC UA is enabled but asyncua is missing:",
                (("opcua.enabled", "pip install 'inspector[opcua]'"),),
            )
        logging.getLogger("asyncua").setLevel(logging.WARNING)  # its INFO lines are per request
        self._thread = threading.Thread(target=self._run, name="opcua-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.config.start_timeout_s
        while not self._ready.wait(0.05):
            if self._failure is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout=5.0)
                why = self._failure or "not ready in time (opcua.start_timeout_s)"
                raise InspectorError(f"OPC UA server on {self.config.endpoint} did not start: {why}")
        log.info("opcua_started", endpoint=self.config.endpoint, anonymous=self.config.anonymous_allowed)

    def submit(self, msg: FrameMsg) -> bool:
        """Queue the part's result; False (counted) when the queue is full. Never blocks."""
        try:
            self._queue.put_nowait(PartResult.of(msg))
        except queue.Full:
            with self._lock:
                self.dropped += 1
            return False
        return True

    def stop(self, timeout: float) -> None:
        """Publish what is queued, close the endpoint, end the thread, within ``timeout``."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("opcua_stop_timeout", timeout_s=timeout, queued=self._queue.qsize())
        else:
            log.info("opcua_stopped", published=self.published, dropped=self.dropped)

    def stats(self) -> OpcUaStats:
        with self._lock:
            return OpcUaStats(self.published, self.dropped, self._queue.qsize(), self.errors)

    # -- the server thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            if self._ready.is_set():
                log.error("opcua_server_failed", error=repr(exc))

    async def _serve(self) -> None:
        from inspector.opcua.nodes import build_address_space
        from inspector.opcua.recipes import RecipeMethods
        from inspector.opcua.results import ResultPublisher

        server = await self._server()
        nodes = await build_address_space(server, self.cameras)
        publisher = await ResultPublisher.create(nodes)
        methods = RecipeMethods(nodes, self.recipes)
        await methods.link()
        await nodes.show(self.state())
        async with server:
            self._ready.set()
            next_state = 0.0
            while True:
                stopping = self._stop.is_set()
                published = await self._publish(publisher)
                if time.monotonic() >= next_state or stopping:
                    next_state = time.monotonic() + self.config.state_interval_s
                    await self._follow(nodes, publisher, methods)
                if stopping and self._queue.empty():
                    break
                if not published:
                    await asyncio.sleep(IDLE_S)

    async def _follow(self, nodes: Any, publisher: Any, methods: Any) -> None:
        """State, counters and recipes as the line has them now; a failing source is logged once
        per distinct error and never stops the server."""
        try:
            await nodes.show(self.state())
            await publisher.show_counts(self.dropped)
            await methods.show()
        except Exception as exc:
            if repr(exc) != self._follow_error:
                self._follow_error = repr(exc)
                log.error("opcua_state_failed", error=repr(exc))
        else:
            self._follow_error = ""

    async def _publish(self, publisher: Any) -> int:
        done = 0
        while done < BATCH:
            try:
                result = self._queue.get_nowait()
            except queue.Empty:
                break
            try:
                await publisher.publish(result)
                with self._lock:
                    self.published += 1
            except Exception as exc:  # one bad result never stops the server
                with self._lock:
                    self.errors += 1
                log.error("opcua_publish_failed", seq=result.seq, error=repr(exc))
            done += 1
        return done

    async def _server(self) -> Any:
        from asyncua import Server, ua

        from inspector.opcua.access import ruleset, user_manager

        config = self.config
        server = Server(user_manager=user_manager(config, self.passwords))
        await server.init()
        server.set_endpoint(config.endpoint)
        server.set_server_name("inspector vision system")
        await server.set_application_uri(APPLICATION_URI)  # a server certificate names it
        tokens: list[type] = [ua.UserNameIdentityToken] if config.users else []
        if config.anonymous_allowed:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        sec = config.security
        if sec.policy is SecurityPolicy.NONE:
            policy = ua.SecurityPolicyType.NoSecurity
        elif sec.mode is SecurityMode.SIGN:
            policy = ua.SecurityPolicyType.Basic256Sha256_Sign
        else:
            policy = ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt
        server.set_security_policy([policy], permission_ruleset=ruleset(config))
        if sec.certificate is not None and sec.private_key is not None:
            await server.load_certificate(str(sec.certificate))
            await server.load_private_key(str(sec.private_key))
        return server
