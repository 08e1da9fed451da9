"""ResultManagement: one result event per part and each camera's last-result variables.

Each part raises an ``InspectionResultEventType`` event, our subtype of the standard
``ResultReadyEventType`` (a client filtering on the standard type receives it, with the standard
fields filled) that adds the verdict, its code and the camera. It is emitted by the VisionSystem
object and by the Server object (asyncua does not forward events up the notifier tree, so a
client subscribed to either gets it)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from asyncua import ua

from inspector.opcua.nodes import GENERATED, VisionNodes, _write
from inspector.opcua.state import PartResult

RESULT_READY_EVENT_TYPE = 1024
# OPC 40100 ResultStateDataType (as we read 12.19): 1 a completed result; 4 a failed one (the part
# was failed safe, not inspected)
RESULT_COMPLETED, RESULT_FAILED = 1, 4
OWN_FIELDS = (
    ("Verdict", ua.VariantType.String),
    ("VerdictCode", ua.VariantType.Int32),
    ("FirstCode", ua.VariantType.Int32),
    ("Camera", ua.VariantType.String),
    ("Recipe", ua.VariantType.UInt32),
)


# the standard fields' variant types: asyncua reads some of them as Null from the NodeSet (those
# whose DataType is an alias or an abstract structure) and would send them empty
STANDARD_FIELDS = {
    "ResultId": ua.VariantType.ExtensionObject,
    "IsPartial": ua.VariantType.Boolean,
    "ResultState": ua.VariantType.Int32,
    "PartId": ua.VariantType.ExtensionObject,
    "InternalRecipeId": ua.VariantType.ExtensionObject,
    "InternalConfigurationId": ua.VariantType.ExtensionObject,
    "JobId": ua.VariantType.ExtensionObject,
    "CreationTime": ua.VariantType.DateTime,
    "ResultContent": ua.VariantType.Variant,
}


class ResultPublisher:
    """Raises each part's event and writes its camera's last result; counts what it shows."""

    def __init__(self, nodes: VisionNodes, generators: list[Any]) -> None:
        self.nodes = nodes
        self.generators = generators
        self.counts = dict.fromkeys(("Parts", "Passed", "Rejected", "Alarmed", "FailedSafe"), 0)

    @classmethod
    async def create(cls, nodes: VisionNodes) -> ResultPublisher:
        server = nodes.server
        etype = await server.create_custom_event_type(
            nodes.own, "InspectionResultEventType", nodes.mv_id(RESULT_READY_EVENT_TYPE), list(OWN_FIELDS)
        )
        generators = [
            await server.get_event_generator(etype, nodes.system.nodeid),
            await server.get_event_generator(etype, ua.ObjectIds.Server),
        ]
        for generator in generators:
            generator.event.data_types.update(STANDARD_FIELDS)
        return cls(nodes, generators)

    async def publish(self, result: PartResult) -> None:
        when = datetime.fromtimestamp(result.timestamp, tz=timezone.utc)
        for generator in self.generators:
            self._fill(generator.event, result, when)
            await generator.trigger(time_attr=when, message=_message(result))
        await self._last_result(result, when)
        self._count(result)

    def _fill(self, event: Any, result: PartResult, when: datetime) -> None:
        recipe = GENERATED.RecipeIdInternalDataType(Id=str(result.recipe))
        event.ResultId = GENERATED.ResultIdDataType(Id=result.result_id)
        event.IsPartial = False
        event.ResultState = RESULT_FAILED if result.failsafe else RESULT_COMPLETED
        event.PartId = GENERATED.PartIdDataType(Id="" if result.part_id is None else str(result.part_id))
        event.InternalRecipeId = recipe
        event.InternalConfigurationId = GENERATED.ConfigurationIdDataType(Id="base")
        event.JobId = GENERATED.JobIdDataType(Id=f"{result.camera}-{result.seq}")
        event.CreationTime = when
        event.ResultContent = [ua.Variant(list(result.measurements), ua.VariantType.Double)]
        event.Verdict = result.verdict
        event.VerdictCode = result.code
        event.FirstCode = result.first_code
        event.Camera = result.camera
        event.Recipe = result.recipe

    async def _last_result(self, result: PartResult, when: datetime) -> None:
        nodes = await self.nodes.camera(result.camera)
        V = ua.VariantType
        await _write(nodes.result_id, result.result_id, V.String)
        await _write(nodes.part_id, -1 if result.part_id is None else result.part_id, V.Int64)
        await _write(nodes.verdict, result.verdict, V.String)
        await _write(nodes.code, result.code, V.Int32)
        await _write(nodes.first_code, result.first_code, V.Int32)
        await _write(nodes.failsafe, result.failsafe, V.Boolean)
        await _write(nodes.measurements, list(result.measurements), V.Double)
        await _write(nodes.recipe, result.recipe, V.UInt32)
        await _write(nodes.timestamp, when, V.DateTime)

    def _count(self, result: PartResult) -> None:
        self.counts["Parts"] += 1
        key = {"PASS": "Passed", "REJECT": "Rejected", "ALARM": "Alarmed"}.get(result.verdict)
        if key is not None:
            self.counts[key] += 1
        if result.failsafe:
            self.counts["FailedSafe"] += 1

    async def show_counts(self, dropped: int) -> None:
        for name, value in {**self.counts, "ResultsDropped": dropped}.items():
            await _write(self.nodes.counters[name], value, ua.VariantType.UInt64)


def _message(result: PartResult) -> str:
    part = "" if result.part_id is None else f" part {result.part_id}"
    return f"{result.camera}{part}: {result.verdict} (code {result.first_code})"
