"""Wiring the line: queues and stages for one App run, and the source checks before it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inspector.app.build import Components, build_readers
from inspector.app.capture import (
    CaptureStage,
    FrameBudget,
    PartTracker,
    SeqCounter,
    TriggerDispatcher,
    trigger_dropped,
)
from inspector.app.components import TriggerSource, failsafe_judge
from inspector.app.queues import StageQueue
from inspector.app.stage import Item, Stage, StageContext
from inspector.app.stages import InferenceStage, OutputStage, PreprocessStage, RulesStage
from inspector.config.checks import check_line
from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError
from inspector.preprocess import Chain
from inspector.sources import SourceReader

if TYPE_CHECKING:
    from inspector.app.app import App


@dataclass
class Line:
    """Everything built for one run, in start order."""

    queues: dict[str, StageQueue[Item]] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    readers: list[SourceReader] = field(default_factory=list)


def check_sources(config: InspectorConfig) -> None:
    """The static line checks of ``inspector check`` (``inspector.config.checks``) that hold
    whatever components a caller brings: sources, and rules naming them. The CLI has already
    run them all, model file and PLC role included."""
    check_line(config, engine_given=True, output_given=True)


def new_queue(app: App, name: str, cfg: Any, counted: bool = False) -> StageQueue[Item]:
    """A bounded queue whose dropped frames are failed safe (``App.fail_safe_dropped``).
    ``counted``: its frames have passed the rules stage, so the history rules counted them."""
    on_drop = functools.partial(app.fail_safe_dropped, counted=True) if counted else app.fail_safe_dropped
    queue: StageQueue[Item] = StageQueue.from_config(name, cfg, on_drop=on_drop)
    app.line.queues[name] = queue
    return queue


def wire_line(app: App, parts: Components) -> OutputStage:
    """Queues and stages in start order (output first, capture last) into ``app.line``."""
    rt = app.rt
    ctx = StageContext(app.stop_event, rt.poll_timeout_s, app.rescue)
    frames = new_queue(app, "frames", rt.frames_queue)
    pre = new_queue(app, "preprocessed", rt.preprocessed_queue)
    det = new_queue(app, "detections", rt.detections_queue)
    ver = new_queue(app, "verdicts", rt.verdicts_queue, counted=True)
    judge = failsafe_judge(parts.verdicts)
    output = OutputStage(ctx, ver, parts.output, app.stats, rt.log_inspections, app.on_frame, judge)
    stages: list[Stage] = [
        output,
        RulesStage(ctx, det, ver, parts.verdicts),
        InferenceStage(ctx, pre, det, parts.engine, rt.batch_size, rt.batch_max_wait_ms / 1000.0),
        PreprocessStage(ctx, frames, pre, Chain.from_config(app.config.preprocess), len(app.config.sources)),
    ]
    triggered = app.capture_mode == "triggered"
    # free-run readers stop with the intake; triggered ones keep capturing queued triggers while draining
    reader_stop = app.stop_event if triggered else app.intake_stop
    app.line.readers = build_readers(
        app.config.sources, reader_stop, app.given_sources, app.source_state_changed, triggered
    )
    seq = app.seq = SeqCounter()
    if isinstance(parts.output, PartTracker):  # free run: every captured seq is a part it tracks
        seq.on_capture = parts.output.captured
    budget = FrameBudget(rt.max_frames)
    trigger_queues = []
    for reader in app.line.readers:
        tq = None
        if triggered:
            tq = StageQueue[Item](
                f"triggers.{reader.source_id}",
                rt.triggers_queue.size,
                rt.triggers_queue.overflow,
                trigger_dropped(app.rescue, seq, reader.source_id),
            )
            app.line.queues[tq.name] = tq
            trigger_queues.append(tq)
        stages.append(
            CaptureStage(ctx, app.intake_stop, reader, frames, seq, tq, rt.trigger_grab_timeout_s, budget)
        )
    if triggered:
        if not isinstance(parts.output, TriggerSource):
            raise ConfigError("plc.mode: triggered needs a PLC output that hands out triggers")
        stages.append(TriggerDispatcher(ctx, app.intake_stop, parts.output, trigger_queues, seq=seq))
    app.line.stages = stages
    return output
