"""Recipe selection by the PLC, against the PLC simulator on loopback: the recipe request and
acknowledge registers, the recipe of each result block, an unknown number, both capture modes."""

from __future__ import annotations

import itertools
from pathlib import Path

from inspector.app import App, LineParts, build_line
from inspector.messages import FailSafeCause
from inspector.plc import PlcOutput
from inspector.plc.config import PlcConfig
from inspector.plc.records import PlcErrorCode, ResultFlag, StatusBit
from inspector.plc.registers import STATUS
from inspector.plc.simulator import PlcSimulator
from tests.support import wait_until
from tests.support.parts import write_frames
from tests.support.recipes import blob_engine_for, expected_verdict, recipe_config

FAST_PLC = {"role": "client", "timeout_ms": 100, "reconnect_min_ms": 20, "reconnect_max_ms": 200}
WIDE_WINDOW = {"late_ms": 10000}  # a loaded machine must not turn an on-time part into a late one


def status(sim: PlcSimulator) -> dict[str, int]:
    words = sim.read_registers(sim.registers.status, STATUS.length())
    return {field.key: words[field.offset] for field in STATUS.fields}


def recipe_line(tmp_path: Path, plc: dict, **sections: object) -> tuple[App, list[Path]]:
    frames = write_frames(tmp_path / "frames", 8, seed=3)
    config = recipe_config(tmp_path / "frames", plc, **sections)
    output = PlcOutput(config.plc)
    app = App(build_line(config, LineParts(outputs=[output], engine_factory=blob_engine_for)))
    return app, frames


def test_free_run_switches_between_parts_and_loses_none(tmp_path: Path, sim: PlcSimulator) -> None:
    plc = {**FAST_PLC, "port": sim.port, "pulses": WIDE_WINDOW}
    app, frames = recipe_line(tmp_path, plc, runtime={"max_frames": 90}, source={"fps_limit": 60})
    app.start()
    try:
        wait_until(lambda: len(sim.results()) >= 10, timeout=30)
        sim.select_recipe(1)
        wait_until(lambda: status(sim)["recipe"] == 1, timeout=5)  # acknowledged
        wait_until(lambda: len(sim.results()) >= 35, timeout=30)
        sim.select_recipe(7)  # no recipe has it: refused, the line keeps recipe 1
        wait_until(lambda: status(sim)["error_code"] == PlcErrorCode.UNKNOWN_RECIPE, timeout=5)
        refused = status(sim)
        assert refused["recipe"] == 1 and refused["status_word"] & StatusBit.RECIPE_REFUSED
        wait_until(lambda: len(sim.results()) >= 50, timeout=30)
        sim.select_recipe(0)
        wait_until(lambda: status(sim)["recipe"] == 0, timeout=5)
        assert not status(sim)["status_word"] & StatusBit.RECIPE_REFUSED
        assert app.run_until_stopped(deadline_s=20)  # the line ends after max_frames
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = sim.results()
    assert [r.part_id for r in results] == list(range(1, 91))  # every part answered once, in order
    assert not [r.part_id for r in results if ResultFlag.FAILSAFE in r.flags]
    for r in results:  # judged by the engine and rules of the recipe its block names
        assert r.verdict is expected_verdict(frames[(r.part_id - 1) % len(frames)], r.recipe), r
    # switched between parts only, in the order asked, and never to the unknown number
    assert [recipe for recipe, _ in itertools.groupby(r.recipe for r in results)] == [0, 1, 0]


def test_triggered_parts_carry_the_recipe_written_with_their_trigger(
    tmp_path: Path, sim: PlcSimulator
) -> None:
    plan = {**dict.fromkeys(range(100, 105), 0), **dict.fromkeys(range(105, 110), 1), 110: 7}
    plan.update(dict.fromkeys(range(111, 116), 0))
    plc = {**FAST_PLC, "port": sim.port, "mode": "triggered", "pulses": WIDE_WINDOW}
    app, frames = recipe_line(tmp_path, plc)
    app.start()
    try:
        sim.play_recipes(plan.__getitem__)
        sim.play_handshake(0.02, first_part=100, count=len(plan))  # back to back, under load
        wait_until(lambda: len(sim.cycles()) == len(plan), timeout=30)
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()
    results = [c.result for c in sim.cycles()]
    assert [r.part_id for r in results] == sorted(plan)
    captured = 0  # the folder hands out one frame per captured part, in order
    for r in results:
        if plan[r.part_id] == 7:  # triggered with an unknown recipe: failed safe, never judged
            assert ResultFlag.FAILSAFE in r.flags and r.first_code == FailSafeCause.UNKNOWN_RECIPE
            assert r.recipe == 1  # the recipe still active
            continue
        assert ResultFlag.FAILSAFE not in r.flags and r.recipe == plan[r.part_id], r
        assert r.verdict is expected_verdict(frames[captured % len(frames)], r.recipe), r
        captured += 1
    assert status(sim)["error_code"] != PlcErrorCode.UNKNOWN_RECIPE  # cleared by the next known one


def test_server_role_serves_the_recipe_registers(tmp_path: Path) -> None:
    """Server role: the PLC writes the request into our registers and reads the acknowledge."""
    from inspector.plc.client_link import ModbusClientLink
    from inspector.plc.registers import PLC_INPUTS

    plc = {"role": "server", "server": {"host": "127.0.0.1", "port": 0}, "pulses": WIDE_WINDOW}
    app, _ = recipe_line(tmp_path, plc, source={"fps_limit": 30})
    output = app.line.outputs.verdicts[0]
    assert isinstance(output, PlcOutput)
    app.start()
    try:
        port = int(output.stats().link.rsplit(":", 1)[1])
        peer = PlcConfig(role="client", port=port, timeout_ms=500)
        regs = peer.registers

        async def select_and_read(number: int) -> list[int]:
            link = ModbusClientLink(peer)
            await link.connect()
            try:
                await link.write_block(regs.plc_inputs + PLC_INPUTS.offset("recipe"), [number])
                return await link.read_registers(regs.status, STATUS.length())
            finally:
                await link.close()

        import asyncio

        asyncio.run(select_and_read(1))
        wait_until(lambda: app.line.recipes.active.number == 1, timeout=5)
        words = asyncio.run(select_and_read(1))
        assert words[STATUS.offset("recipe")] == 1
        asyncio.run(select_and_read(9))
        wait_until(lambda: output.stats().error_code == PlcErrorCode.UNKNOWN_RECIPE, timeout=5)
        assert app.line.recipes.active.number == 1
    finally:
        app.request_shutdown("test done")
        app.run_until_stopped()


def test_a_line_without_recipes_leaves_the_request_register_alone(tmp_path: Path, sim: PlcSimulator) -> None:
    """A PLC map written before recipes existed may hold anything after the heartbeat: a line
    without recipes neither reads nor acts on it."""
    plc = {**FAST_PLC, "port": sim.port, "pulses": WIDE_WINDOW}
    app, _ = recipe_line(tmp_path, plc, recipes={}, runtime={"max_frames": 12}, source={"fps_limit": 60})
    sim.select_recipe(7)
    app.start()
    assert app.run_until_stopped(deadline_s=20)  # the line ends after max_frames
    results = sim.results()
    assert [r.part_id for r in results] == list(range(1, 13))
    assert all(r.recipe == 0 and ResultFlag.FAILSAFE not in r.flags for r in results)
    assert status(sim)["error_code"] != PlcErrorCode.UNKNOWN_RECIPE
