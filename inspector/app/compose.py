"""The composition root: one validated config in, one built ``Line`` out, in pipeline order.

Read ``build_line`` top to bottom for the table of contents: engine and rules, outputs,
queues, the stages from delivery back to capture, the cameras, the watch (health and
watchdogs) and the stats event. Nothing is started here; ``App`` starts and stops the Line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from inspector.app import parts
from inspector.app.capture import (
    CaptureStage,
    FrameBudget,
    SeqCounter,
    TriggerDispatcher,
    base_recipe,
    trigger_dropped,
)
from inspector.app.config import RuntimeConfig
from inspector.app.delivery import DeliveryStage, RescueLane
from inspector.app.interfaces import (
    EngineOnDevice,
    InferenceEngine,
    Output,
    ShrinkingEngine,
    VerdictMaker,
    failsafe_judge,
)
from inspector.app.line import Line, LineControl
from inspector.app.opcua_output import build_opcua, line_state, opcua_metrics
from inspector.app.outputs import CameraLostStatus, Outputs
from inspector.app.part_metrics import part_metrics
from inspector.app.processing import InferenceStage, PostprocessStage, PreprocessStage, RulesStage
from inspector.app.queues import StageQueue
from inspector.app.recipe_parts import RecipeFactory
from inspector.app.recipes import RecipeSwitch, attach_recipes
from inspector.app.refine_figures import refine_fields, refine_metrics
from inspector.app.stage_thread import Item, Stage, StageContext
from inspector.app.stats import StatsCollector
from inspector.app.stats_reporter import LineFigures, StatsReporter
from inspector.app.watch import LineView, LineWatch
from inspector.app.watch_probes import (
    archive_metrics,
    archive_probe,
    camera_probe,
    line_metrics,
    plc_probe,
    stage_views,
    status_heartbeat,
)
from inspector.app.web_view import attach_web, build_web, web_routes
from inspector.archive.writer import ArchiveWriter
from inspector.config.checks import check_line
from inspector.config.settings import InspectorConfig
from inspector.engine.config import EngineConfig
from inspector.errors import ConfigError
from inspector.plc.config import PlcMode
from inspector.preprocess import Chain
from inspector.sources import FrameSource, SourceReader
from inspector.watchdog.engine_calls import EngineCallGuard, engine_probe
from inspector.watchdog.restart import RestartReason, RestartRequest


@dataclass(frozen=True)
class LineParts:
    """Parts handed in instead of built from config (tests, benchmarks, the soak): ``outputs``
    replace the configured verdict outputs (the PLC); the archive still comes from config."""

    engine: InferenceEngine | None = None
    rules: VerdictMaker | None = None
    outputs: Sequence[Output] | None = None
    # builds the engine of an engine config (each recipe's) instead of loading its model
    engine_factory: Callable[[EngineConfig], InferenceEngine] | None = None


def build_line(
    config: InspectorConfig,
    given: LineParts | None = None,
    sources: Mapping[str, FrameSource] | None = None,
    control: LineControl | None = None,
) -> Line:
    """The line for ``config``: the model is loaded and warmed up, nothing runs yet.

    ``sources`` replace the source of an id (hardware we cannot have here); ``control``: stop
    switches made before the build, so a signal during the model load is not lost.
    """
    check_line(config, engine_given=True, output_given=True)  # what holds whatever parts are given
    given = given or LineParts()
    control = control or LineControl()
    rt = config.runtime
    # engine and rules of every recipe (recipe 0: the base settings), and the recipe switch
    factory = RecipeFactory(given.engine, given.rules, given.engine_factory)
    recipes = RecipeSwitch(factory.book(config), factory)
    engine, rules = recipes.book.base.engine, recipes.book.base.rules
    # outputs: the verdict outputs (the PLC) first, then the archive
    archive = parts.build_archive(config)
    web = build_web(config, archive)  # the operator page: keeps the latest parts, never blocks
    records = [output for output in (archive, web) if output is not None]
    # OPC UA (opcua.enabled): its state source reads names bound below; it is called only after the build
    opcua = build_opcua(
        config,
        recipes if len(recipes.recipes()) > 1 else None,
        lambda: line_state(config, delivery.is_alive, control.intake_stop, watch.health, queues),
    )
    outputs = Outputs([*parts.build_verdict_outputs(config, given.outputs), *opcua], records)
    attach_recipes(recipes, outputs.verdicts)  # the PLC's recipe request and acknowledge registers
    parts.announce_engine(config, engine)
    # queues, and the rescue lane that fails safe what they drop
    lane = RescueLane()
    queues = frame_queues(rt, lane)
    ctx = StageContext(control.stop, rt.poll_timeout_s, lane.rescue)
    stats = StatsCollector(rt.stats_window)
    # stages in start order: delivery, rules, inference, preprocessing...
    restart = RestartRequest()
    reduce_imgsz = engine.reduce_imgsz if isinstance(engine, ShrinkingEngine) else None
    engine_calls = EngineCallGuard(config.watchdog.oom, restart, rt.batch_size, reduce_imgsz)
    delivery, inference, stages = processing_stages(
        config, ctx, queues, lane, outputs, stats, engine, rules, engine_calls, recipes
    )
    # ...then one reader and capture stage per camera (and the PLC's triggers in triggered mode)
    seq = SeqCounter(on_capture=[tracker.captured for tracker in outputs.part_trackers()])
    camera_status = CameraLostStatus(outputs)
    readers = intake(
        config, control, ctx, queues, seq, outputs, stages, sources or {}, camera_status, recipes
    )
    # the watch (health and watchdogs) and the stats event
    figures = LineFigures(stats, queues, stages, readers, lane, outputs, refine_fields(engine))
    view = LineView(
        stages=stage_views(stages, control.intake_stop),
        engine_device=engine.device if isinstance(engine, EngineOnDevice) else None,
        inferences=lambda: int(inference.processed),
        max_batch=rt.batch_size,
        reduce_imgsz=reduce_imgsz,
        archive_dir=config.archive.dir if archive is not None else None,
    )
    routes = web_routes(config, web)
    watch = LineWatch(
        config.watchdog, config.health, view, restart=restart, engine_calls=engine_calls,
        status_prefix=lambda: f"{delivery.delivered} verdicts", routes=routes,
    )  # fmt: skip
    engine_stages = [s for s in stages if isinstance(s, (InferenceStage, PostprocessStage))]
    watched(watch, figures, delivery, engine_stages, engine, engine_calls, archive, control)
    attach_web(web, routes, figures, config.sources, watch)
    watch.metrics.add("opcua", opcua_metrics(opcua))
    reporter = StatsReporter(figures, rt.stats_interval_s)
    return Line(
        config, control, engine, rules, queues, seq, lane, delivery, tuple(stages), readers, outputs,
        archive, camera_status, stats, reporter, watch, recipes,
    )  # fmt: skip


def processing_stages(
    config: InspectorConfig,
    ctx: StageContext,
    queues: dict[str, StageQueue[Item]],
    lane: RescueLane,
    outputs: Outputs,
    stats: StatsCollector,
    engine: InferenceEngine,
    rules: VerdictMaker,
    engine_calls: EngineCallGuard,
    recipes: RecipeSwitch | None = None,
) -> tuple[DeliveryStage, InferenceStage, list[Stage]]:
    """Delivery, rules, inference, preprocessing: the stages after capture, in start order."""
    rt = config.runtime
    judge = failsafe_judge(rules)
    delivery = DeliveryStage(ctx, queues["verdicts"], lane, outputs, stats, rt.log_inspections, judge)
    max_wait_s = rt.batch_max_wait_ms / 1000.0
    two_step = rt.postprocess_stage  # the network's outputs go to a post-processing stage of their own
    inference = InferenceStage(
        ctx, queues["preprocessed"], queues["raw" if two_step else "detections"], engine, rt.batch_size,
        max_wait_s, engine_calls, recipes, two_step,
    )  # fmt: skip
    chain = Chain.from_config(config.preprocess)
    sources = len(config.sources)
    stages: list[Stage] = [
        delivery,
        RulesStage(ctx, queues["detections"], queues["verdicts"], rules, recipes),
        *([PostprocessStage(ctx, queues["raw"], queues["detections"])] if two_step else []),
        inference,
        PreprocessStage(ctx, queues["frames"], queues["preprocessed"], chain, sources, recipes),
    ]
    return delivery, inference, stages


def frame_queues(rt: RuntimeConfig, lane: RescueLane) -> dict[str, StageQueue[Item]]:
    """The bounded queues capture → preprocess → infer (→ postprocess) → rules → delivery. A
    dropped frame is failed safe; after the rules stage its part was counted by the history rules
    already."""
    configs = {
        "frames": rt.frames_queue,
        "preprocessed": rt.preprocessed_queue,
        **({"raw": rt.postprocess_queue} if rt.postprocess_stage else {}),
        "detections": rt.detections_queue,
        "verdicts": rt.verdicts_queue,
    }
    return {
        name: StageQueue[Item].from_config(
            name, cfg, on_drop=lane.dropped_counted if name == "verdicts" else lane.dropped
        )
        for name, cfg in configs.items()
    }


def intake(
    config: InspectorConfig,
    control: LineControl,
    ctx: StageContext,
    queues: dict[str, StageQueue[Item]],
    seq: SeqCounter,
    outputs: Outputs,
    stages: list[Stage],
    given: Mapping[str, FrameSource],
    camera_status: CameraLostStatus,
    recipes: RecipeSwitch | None = None,
) -> tuple[SourceReader, ...]:
    """The source readers; their capture stages (and the trigger dispatcher) join ``stages``."""
    rt = config.runtime
    triggered = config.plc.mode is PlcMode.TRIGGERED
    # free-run readers stop with the intake; triggered ones keep capturing queued triggers while draining
    reader_stop = control.stop if triggered else control.intake_stop
    readers = parts.build_readers(config.sources, reader_stop, given, camera_status.changed, triggered)
    budget = FrameBudget(rt.max_frames)
    trigger_queues = []
    for reader in readers:
        triggers = None
        if triggered:
            triggers = StageQueue[Item](
                f"triggers.{reader.source_id}",
                rt.triggers_queue.size,
                rt.triggers_queue.overflow,
                trigger_dropped(ctx.rescue, seq, reader.source_id),
            )
            queues[triggers.name] = triggers
            trigger_queues.append(triggers)
        stages.append(
            CaptureStage(
                ctx,
                control.intake_stop,
                reader,
                queues["frames"],
                seq,
                triggers,
                rt.trigger_grab_timeout_s,
                budget,
                recipes.stamp if recipes is not None else base_recipe,
            )
        )
    if triggered:
        plc = outputs.trigger_source()
        if plc is None:
            raise ConfigError("plc.mode: triggered needs a PLC output that hands out triggers")
        stages.append(TriggerDispatcher(ctx, control.intake_stop, plc, trigger_queues, seq=seq))
    return readers


def watched(
    watch: LineWatch,
    figures: LineFigures,
    delivery: DeliveryStage,
    engine_stages: Sequence[Stage],
    engine: InferenceEngine,
    engine_calls: EngineCallGuard,
    archive: ArchiveWriter | None,
    control: LineControl,
) -> None:
    """What the watch looks at besides the stages: cameras, PLC, engine, archive, line counters;
    health drives the outputs' heartbeat, and a watchdog restart drains the line."""
    device = engine.device if isinstance(engine, EngineOnDevice) else "?"
    watch.add_component("camera", camera_probe(figures.readers))
    watch.add_component("plc", plc_probe(figures.outputs))
    errors = functools.partial(sum_errors, engine_stages)  # inference (and post-processing, when a stage)
    watch.add_component("engine", engine_probe(errors, device, engine_calls))
    if archive is not None:
        watch.add_component(archive.name, archive_probe(archive), archive_metrics(archive))
    watch.metrics.add(
        "line", line_metrics(delivery, figures.lane, figures.queues, figures.readers, figures.outputs)
    )
    figures.stats.parts.register(watch.metrics.registry)
    watch.metrics.add("parts", part_metrics(figures.stats.parts, figures.outputs))
    if figures.refine is not None:
        watch.metrics.add("refine", refine_metrics(figures.refine))
    watch.add_listener(status_heartbeat(watch.health, figures.outputs, control.intake_stop, engine))
    watch.restart.on_request(functools.partial(_restart, control))


def sum_errors(stages: Sequence[Stage]) -> int:
    return sum(stage.errors for stage in stages)


def _restart(control: LineControl, reason: RestartReason) -> None:
    control.request_restart(int(reason.exit_code), reason.message)
