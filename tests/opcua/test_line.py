"""The OPC UA server on a real running line: a result event per part, the state machine
following the line, a client on loopback."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from inspector.app import App, LineParts, build_line
from tests.support.opcua import (
    MV_URI,
    OWN_URI,
    EventCollector,
    current_state,
    free_endpoint,
    require_asyncua,
    run,
    vision_system,
    wait_for,
)
from tests.support.parts import (
    BlobEngine,
    DefectRules,
    RecordingOutput,
    run_line,
    supervised_config,
    write_frames,
)
from tests.support.recipes import RECIPES, blob_engine_for, recipe_config

PARTS = 6


@pytest.fixture(autouse=True)
def _asyncua() -> None:
    require_asyncua()


def opcua_line(
    tmp_path: Path, opcua: dict[str, Any] | None = None, **runtime: Any
) -> tuple[App, RecordingOutput, BlobEngine, str]:
    """A line with the OPC UA server on a free loopback port; its engine held until released."""
    write_frames(tmp_path / "frames", 4)
    endpoint = free_endpoint()
    opcua = {"enabled": True, "endpoint": endpoint, **(opcua or {})}
    # the held engine is no stalled stage: the state stays Operational, not Error
    watchdog = {"stall_after_s": 120}
    config = supervised_config(tmp_path / "frames", opcua=opcua, runtime=runtime, watchdog=watchdog)
    engine, out = BlobEngine(), RecordingOutput()
    engine.release.clear()
    line = build_line(config, LineParts(engine, DefectRules(), [out]))
    return App(line), out, engine, endpoint


def test_each_part_raises_one_result_event_and_sets_the_last_result(tmp_path: Path) -> None:
    from asyncua import Client

    app, out, engine, endpoint = opcua_line(tmp_path, max_frames=PARTS)
    standard, ours = EventCollector(), EventCollector()

    async def watch() -> tuple[str, str]:
        async with Client(endpoint) as client:
            await client.load_data_type_definitions()
            system = await vision_system(client)
            mv, own = await client.get_namespace_index(MV_URI), await client.get_namespace_index(OWN_URI)
            ready_type = await client.nodes.base_event_type.get_child(f"{mv}:ResultReadyEventType")
            our_type = await ready_type.get_child(f"{own}:InspectionResultEventType")
            # a generic client: the standard type, on the Server object; ours on the vision system
            await (await client.create_subscription(20, standard)).subscribe_events(
                client.nodes.server, ready_type
            )
            await (await client.create_subscription(20, ours)).subscribe_events(system, our_type)
            state = await wait_for(lambda: _operational(client, system))
            engine.release.set()
            await wait_for(lambda: len(ours.events) >= PARTS and len(standard.events) >= PARTS)
            verdict = await system.get_child([f"{own}:Inspector", f"{own}:LastResult_cam0", f"{own}:Verdict"])
            await wait_for(lambda: _value_is(verdict, out.messages[-1].verdict.code.name))
            return state

    app.start()
    try:
        state = run(watch())
    finally:
        engine.release.set()
        assert run_line(app, start=False)
    assert state == ("Operational", "ContinuousExecution")
    assert len(out.messages) == PARTS
    assert len(ours.events) == len(standard.events) == PARTS
    by_id = {f"cam0-{msg.seq}": msg for msg in out.messages}
    for event in ours.events:
        msg = by_id[event.ResultId.Id]
        assert event.Verdict == msg.verdict.code.name and event.VerdictCode == int(msg.verdict.code)
        assert event.Camera == "cam0" and event.Recipe == msg.recipe == 0
        assert event.InternalRecipeId.Id == "0" and event.IsPartial is False and event.ResultState == 1
        assert event.PartId.Id == str(msg.part_id) and [v.Value for v in event.ResultContent] == [
            list(msg.verdict.measurements)
        ]
    assert {e.ResultId.Id for e in standard.events} == set(by_id)
    metrics = app.line.watch.metrics.render()
    assert f"inspector_opcua_results_total {float(PARTS)}" in metrics
    assert "inspector_opcua_dropped_total 0.0" in metrics


async def _operational(client: Any, system: Any) -> tuple[str, str] | None:
    state = await current_state(client, system)
    return state if state[0] == "Operational" else None


async def _value_is(node: Any, expected: object) -> bool:
    return bool(await node.read_value() == expected)


def test_the_state_machine_halts_when_the_line_stops(tmp_path: Path) -> None:
    from asyncua import Client

    app, _out, engine, endpoint = opcua_line(tmp_path)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(run_line(app, start=False)), name="test-stop")

    async def watch() -> list[tuple[str, str]]:
        async with Client(endpoint) as client:
            system = await vision_system(client)
            seen = [await wait_for(lambda: _operational(client, system))]
            engine.release.set()
            await wait_for(lambda: len(engine.calls) >= 2)
            engine.release.clear()  # a part held in the engine keeps the line draining, the server up
            calls = len(engine.calls)
            await wait_for(lambda: len(engine.calls) > calls)  # a call begun after the clear: held
            app.request_shutdown("test")
            stopper.start()
            seen.append(await wait_for(lambda: _halted(client, system)))
            return seen

    app.start()
    try:
        seen = run(watch())
    finally:
        engine.release.set()
        if stopper.ident is None:
            stopper.start()
        stopper.join(30)
    assert seen == [("Operational", "ContinuousExecution"), ("Halted", "")]
    assert stopped == [True]


async def _halted(client: Any, system: Any) -> tuple[str, str] | None:
    state = await current_state(client, system)
    return state if state[0] == "Halted" else None


def test_a_recipe_selected_by_prepare_recipe_judges_the_next_parts(tmp_path: Path) -> None:
    from asyncua import Client, ua

    write_frames(tmp_path / "frames", 4)
    opcua = {"enabled": True, "endpoint": free_endpoint(), "anonymous_role": "operator"}
    config = recipe_config(tmp_path / "frames", {}, opcua=opcua, source={"fps_limit": 30})
    out = RecordingOutput()
    app = App(build_line(config, LineParts(outputs=[out], engine_factory=blob_engine_for)))
    events = EventCollector()

    async def select() -> list[Any]:
        async with Client(opcua["endpoint"]) as client:
            await client.load_data_type_definitions()
            system = await vision_system(client)
            mv, own = await client.get_namespace_index(MV_URI), await client.get_namespace_index(OWN_URI)
            our_type = await client.nodes.base_event_type.get_child(
                [f"{mv}:ResultReadyEventType", f"{own}:InspectionResultEventType"]
            )
            await (await client.create_subscription(20, events)).subscribe_events(system, our_type)
            await wait_for(lambda: len(events.events) >= 2)
            manager = await system.get_child(f"{mv}:RecipeManagement")
            listed = await manager.call_method(
                f"{mv}:GetRecipeListFiltered", None, None, None, ua.UInt32(0), ua.UInt32(0), ua.Int32(0)
            )
            blind = ua.RecipeIdExternalDataType(Id="blind")
            out_args = await manager.call_method(
                f"{mv}:PrepareRecipe", blind, ua.RecipeIdInternalDataType(Id="")
            )
            assert out_args[0].Id == "1" and out_args[2] == 0
            await wait_for(lambda: sum(e.Recipe == 1 for e in events.events) >= 3)
            return [r.Id for r in listed[3]]

    app.start()
    try:
        listed = run(select())
    finally:
        app.request_shutdown("test")
        assert run_line(app, start=False)
    assert listed == ["0", str(RECIPES["blind"]["number"])]
    assert app.line.recipes.active.number == 1
    recipes = [event.Recipe for event in events.events]
    first = recipes.index(1)
    assert 0 in recipes[:first] and set(recipes[first:]) == {1}  # from the switch on, every part
    # judged by recipe 1 (its engine sees nothing: every part passes), as the line recorded it
    assert all(e.Verdict == "PASS" for e in events.events[first:])
    by_seq = {msg.seq: msg.recipe for msg in out.messages}
    assert all(by_seq[int(e.ResultId.Id.split("-")[1])] == e.Recipe for e in events.events)
