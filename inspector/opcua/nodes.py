"""The address space: the OPC 40100 NodeSet imported, one ``VisionSystemType`` instance
("VisionSystem" under Objects) with its children, and our own variables beside the standard ones
(in namespace ``OWN_URI``). Runs on the server's event loop only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Node, Server, ua

from inspector.opcua.state import OPERATIONAL, LineState, VisionState

NODESET = Path(__file__).resolve().parent / "nodesets" / "Opc.Ua.MachineVision.NodeSet2.xml"
MV_URI = "http://opcfoundation.org/UA/MachineVision"
OWN_URI = "urn:inspector:opcua"
VISION_SYSTEM_TYPE = 1003
# the states' nodes in the types (a CurrentState's Id names them, OPC UA Part 16)
STATE_IDS = {"Preoperational": 5028, "Halted": 5029, "Error": 5030, "Operational": 5031}
AUTOMATIC_IDS = {"Initialized": 5056, "Ready": 5057, "SingleExecution": 5058, "ContinuousExecution": 5059}
# SystemState (SEMI E10) beside the state machine
SYSTEM_STATES = {
    VisionState.PREOPERATIONAL: 3,  # ENG: engineering, not yet producing
    VisionState.READY: 2,  # SBY: standby
    VisionState.SINGLE_EXECUTION: 1,  # PRD: productive
    VisionState.CONTINUOUS_EXECUTION: 1,
    VisionState.ERROR: 5,  # UDT: unscheduled downtime
    VisionState.HALTED: 4,  # SDT: scheduled downtime
}
# the MachineVision structures (RecipeIdInternalDataType...) exist on ``ua`` only once
# ``load_data_type_definitions`` made them at run time
GENERATED: Any = ua
COUNTERS = ("Parts", "Passed", "Rejected", "Alarmed", "FailedSafe", "ResultsDropped")


@dataclass
class LastResultNodes:
    """One camera's last-result variables."""

    result_id: Node
    part_id: Node
    verdict: Node
    code: Node
    first_code: Node
    failsafe: Node
    measurements: Node
    recipe: Node
    timestamp: Node


@dataclass
class VisionNodes:
    """The nodes the server writes: state, counters, health, recipes, last results."""

    server: Server
    mv: int  # the MachineVision namespace index
    own: int  # ours
    system: Node
    state: Node  # VisionStateMachine.CurrentState
    state_id: Node
    automatic: Node  # AutomaticModeStateMachine.CurrentState
    automatic_id: Node
    system_state: Node
    health: Node
    inspector: Node  # our folder of variables
    counters: dict[str, Node] = field(default_factory=dict)
    active_recipe: Node | None = None
    recipe_list: Node | None = None
    cameras: dict[str, LastResultNodes] = field(default_factory=dict)
    shown: VisionState | None = None

    def mv_id(self, number: int) -> ua.NodeId:
        return node_id(number, self.mv)

    async def show(self, line: LineState) -> None:
        """The state machine (and SystemState, health) as ``line`` says, written on change only."""
        await _write(self.health, line.health, ua.VariantType.String)
        if line.state is self.shown:
            return
        self.shown = line.state
        state = line.state
        await _write(self.state, ua.LocalizedText(state.top), ua.VariantType.LocalizedText)
        await _write(self.state_id, self.mv_id(STATE_IDS[state.top]), ua.VariantType.NodeId)
        sub = state.value if state in OPERATIONAL else ("Initialized" if state.top == "Operational" else "")
        await _write(self.automatic, ua.LocalizedText(sub), ua.VariantType.LocalizedText)
        sub_id = self.mv_id(AUTOMATIC_IDS[sub]) if sub else ua.NodeId()
        await _write(self.automatic_id, sub_id, ua.VariantType.NodeId)
        description = GENERATED.SystemStateDescriptionDataType(
            State=GENERATED.SystemStateDataType(SYSTEM_STATES[state]), StateDescription=state.value
        )
        await _write(self.system_state, description, ua.VariantType.ExtensionObject)

    async def camera(self, camera: str) -> LastResultNodes:
        """The camera's last-result variables, made on its first result."""
        if camera not in self.cameras:
            self.cameras[camera] = await _last_result_nodes(self.inspector, self.own, camera)
        return self.cameras[camera]


async def build_address_space(server: Server, cameras: Iterable[str]) -> VisionNodes:
    """Import the NodeSet, instantiate the vision system, add our variables."""
    await server.import_xml(str(NODESET))
    await server.load_data_type_definitions()  # the MachineVision structures as Python classes
    mv = await server.get_namespace_index(MV_URI)
    own = await server.register_namespace(OWN_URI)
    system = await server.nodes.objects.add_object(
        own, "VisionSystem", objecttype=node_id(VISION_SYSTEM_TYPE, mv)
    )
    machine = await system.get_child(f"{mv}:VisionStateMachine")
    state = await machine.get_child("0:CurrentState")
    automatic = await (await machine.get_child(f"{mv}:AutomaticModeStateMachine")).get_child("0:CurrentState")
    inspector = await system.add_folder(own, "Inspector")
    nodes = VisionNodes(
        server=server,
        mv=mv,
        own=own,
        system=system,
        state=state,
        state_id=await state.get_child("0:Id"),
        automatic=automatic,
        automatic_id=await automatic.get_child("0:Id"),
        system_state=await system.get_child(f"{mv}:SystemState"),
        health=await inspector.add_variable(own, "Health", "", ua.VariantType.String),
        inspector=inspector,
    )
    for name in COUNTERS:
        nodes.counters[name] = await inspector.add_variable(own, name, 0, ua.VariantType.UInt64)
    nodes.active_recipe = await inspector.add_variable(own, "ActiveRecipe", 0, ua.VariantType.UInt32)
    nodes.recipe_list = await inspector.add_variable(own, "Recipes", [], ua.VariantType.String)
    for camera in cameras:
        await nodes.camera(camera)
    return nodes


async def _last_result_nodes(parent: Node, own: int, camera: str) -> LastResultNodes:
    folder = await parent.add_object(own, f"LastResult_{camera}")
    V = ua.VariantType

    async def var(name: str, value: Any, kind: ua.VariantType) -> Node:
        return await folder.add_variable(own, name, ua.Variant(value, kind))

    return LastResultNodes(
        result_id=await var("ResultId", "", V.String),
        part_id=await var("PartId", -1, V.Int64),
        verdict=await var("Verdict", "", V.String),
        code=await var("Code", 0, V.Int32),
        first_code=await var("FirstCode", 0, V.Int32),
        failsafe=await var("FailedSafe", False, V.Boolean),
        measurements=await var("Measurements", [], V.Double),
        recipe=await var("Recipe", 0, V.UInt32),
        timestamp=await var("Timestamp", None, V.DateTime),
    )


def node_id(number: int, namespace: int) -> ua.NodeId:
    return ua.NodeId(ua.Int32(number), ua.Int16(namespace))


async def _write(node: Node, value: Any, kind: ua.VariantType) -> None:
    await node.write_value(ua.DataValue(ua.Variant(value, kind)))
