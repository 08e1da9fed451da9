"""The OPC UA server with a real asyncua client on loopback: the MachineVision types, recipes
selected by the standard methods, who may select them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inspector.opcua import LineState, OpcUaConfig, OpcUaServer, VisionState
from inspector.opcua.passwords import hash_password
from tests.support.opcua import (
    MV_URI,
    OWN_URI,
    SwitchingRecipes,
    current_state,
    free_endpoint,
    require_asyncua,
    run,
    vision_system,
)


@pytest.fixture(autouse=True)
def _asyncua() -> None:
    require_asyncua()


def serving(recipes: SwitchingRecipes | None = None, **opcua: Any) -> tuple[OpcUaServer, str]:
    endpoint = free_endpoint()
    config = OpcUaConfig(enabled=True, endpoint=endpoint, **opcua)
    server = OpcUaServer(config, lambda: LineState(VisionState.READY, "ok"), recipes, ["cam0"])
    server.start()
    return server, endpoint


USERS = [
    {"name": "op", "password_hash": hash_password("op-secret", iterations=1000), "role": "operator"},
    {"name": "viewer", "password_env": "TEST_OPCUA_VIEWER_PASSWORD"},
]


async def recipe_manager(client: Any) -> tuple[Any, int]:
    """The vision system's RecipeManagement node, and the MachineVision namespace's index."""
    await client.load_data_type_definitions()
    system = await vision_system(client)
    mv = await client.get_namespace_index(MV_URI)
    return await system.get_child(f"{mv}:RecipeManagement"), mv


def test_a_generic_client_finds_the_vision_system_by_its_type() -> None:
    from asyncua import Client

    server, endpoint = serving()

    async def browse() -> None:
        async with Client(endpoint) as client:
            system = await vision_system(client)
            mv = await client.get_namespace_index(MV_URI)
            names = {(await child.read_browse_name()).to_string() for child in await system.get_children()}
            assert {f"{mv}:VisionStateMachine", f"{mv}:RecipeManagement", f"{mv}:ResultManagement"} <= names
            assert await current_state(client, system) == ("Operational", "Ready")
            own = await client.get_namespace_index(OWN_URI)
            verdict = await system.get_child([f"{own}:Inspector", f"{own}:LastResult_cam0", f"{own}:Verdict"])
            assert await verdict.read_value() == ""

    try:
        run(browse())
    finally:
        server.stop(timeout=10)


def test_an_operator_selects_a_recipe_by_prepare_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncua import Client, ua

    monkeypatch.setenv("TEST_OPCUA_VIEWER_PASSWORD", "viewer-secret")
    recipes = SwitchingRecipes()
    server, endpoint = serving(recipes, users=USERS)

    async def select() -> None:
        client = Client(endpoint)
        client.set_user("op")
        client.set_password("op-secret")
        async with client:
            manager, mv = await recipe_manager(client)
            out = await manager.call_method(
                f"{mv}:PrepareRecipe",
                ua.RecipeIdExternalDataType(Id="pcb-b"),
                ua.RecipeIdInternalDataType(Id=""),
            )
            assert out[0].Id == "2" and out[1] is True and out[2] == 0
            assert recipes.requests == [(2, "opcua:op")]
            out = await manager.call_method(f"{mv}:PrepareProduct", ua.ProductIdDataType(Id="1"))
            assert out[0].Id == "1" and recipes.active.number == 1
            with pytest.raises(ua.UaStatusCodeError, match="BadInvalidArgument"):
                await manager.call_method(
                    f"{mv}:PrepareRecipe",
                    ua.RecipeIdExternalDataType(Id="7"),
                    ua.RecipeIdInternalDataType(Id=""),
                )
            assert recipes.active.number == 1  # an unknown recipe keeps the active one
            listed = await manager.call_method(
                f"{mv}:GetRecipeListFiltered", None, None, None, ua.UInt32(0), ua.UInt32(0), ua.Int32(0)
            )
            assert listed[0] is True and listed[1] == 3 and [r.Id for r in listed[3]] == ["0", "1", "2"]

    try:
        run(select())
    finally:
        server.stop(timeout=10)


@pytest.mark.parametrize("user", ["viewer", None])
def test_a_client_that_is_no_operator_cannot_select_a_recipe(
    monkeypatch: pytest.MonkeyPatch, user: str | None
) -> None:
    from asyncua import Client, ua

    monkeypatch.setenv("TEST_OPCUA_VIEWER_PASSWORD", "viewer-secret")
    recipes = SwitchingRecipes()
    server, endpoint = serving(recipes, users=USERS)  # anonymous: observer on loopback

    async def select() -> None:
        client = Client(endpoint)
        if user is not None:
            client.set_user(user)
            client.set_password("viewer-secret")
        async with client:
            manager, mv = await recipe_manager(client)
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
                await manager.call_method(f"{mv}:PrepareProduct", ua.ProductIdDataType(Id="2"))

    try:
        run(select())
    finally:
        server.stop(timeout=10)
    assert recipes.requests == [] and recipes.active.number == 0


def test_a_wrong_password_does_not_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncua import Client, ua

    monkeypatch.setenv("TEST_OPCUA_VIEWER_PASSWORD", "viewer-secret")
    server, endpoint = serving(users=USERS, anonymous="off")

    async def connect() -> None:
        client = Client(endpoint)
        client.set_user("op")
        client.set_password("wrong")
        with pytest.raises(ua.UaError):
            async with client:
                pass

    try:
        run(connect())
    finally:
        server.stop(timeout=10)


async def certificate(folder: Path, name: str, uri: str, server: bool) -> tuple[Path, Path]:
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key, cert = folder / f"{name}-key.pem", folder / f"{name}-cert.der"
    use = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    await setup_self_signed_certificate(key, cert, uri, "localhost", use, {"commonName": name})
    return cert, key


def test_basic256sha256_sign_and_encrypt_serves_only_secured_clients(tmp_path: Path) -> None:
    from asyncua import Client, ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    from inspector.opcua.server import APPLICATION_URI

    server_cert, server_key = run(certificate(tmp_path, "server", APPLICATION_URI, server=True))
    client_uri = "urn:test:client"
    client_cert, client_key = run(certificate(tmp_path, "client", client_uri, server=False))
    security = {"policy": "basic256sha256", "certificate": server_cert, "private_key": server_key}
    server, endpoint = serving(security=security)

    async def connect() -> tuple[str, str]:
        plain = Client(endpoint)
        with pytest.raises((ua.UaError, OSError, TimeoutError)):
            async with plain:
                pass
        client = Client(endpoint)
        client.application_uri = client_uri
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            str(client_cert),
            str(client_key),
            server_certificate=str(server_cert),
        )
        async with client:
            return await current_state(client, await vision_system(client))

    try:
        assert run(connect()) == ("Operational", "Ready")
    finally:
        server.stop(timeout=10)
