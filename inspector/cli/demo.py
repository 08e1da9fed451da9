"""``inspector demo``: the whole line on embedded defaults, N frames, then a summary table."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inspector.app.app import App
from inspector.app.compose import build_line
from inspector.app.demo import DEMO_CONFIG, STAND_IN_NOTE, demo_model
from inspector.app.line import LineControl
from inspector.app.signals import shutdown_signals
from inspector.cli.progress import StatusLine, activity
from inspector.config.settings import InspectorConfig, problems_of
from inspector.errors import ConfigError
from inspector.logging import LogConfig, configure_logging
from inspector.plc.simulator import PlcSimulator

STAGES = ("capture", "preprocess", "infer", "postprocess", "rules", "output", "e2e")  # those that ran


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(
        name, help="run the whole line on a synthetic PCB camera with the PLC simulator; print a summary"
    )
    parser.add_argument("--frames", type=int, default=100, help="frames to inspect (default 100)")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped demo model)")
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    parser.add_argument("--seed", type=int, default=0, help="board generator seed")
    parser.add_argument("--batch", type=int, default=1, help="inference batch size")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--no-plc", action="store_true", help="do not start the PLC simulator")
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="show info log events on stderr too, in the configured log format (log.format: auto = "
        "console on a TTY, else JSON lines; e.g. INSPECTOR_LOG__FORMAT=json)",
    )
    parser.set_defaults(handler=handle)


def demo_config(args: argparse.Namespace, model: Path, plc_port: int | None) -> InspectorConfig:
    data = copy.deepcopy(DEMO_CONFIG)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {args.size!r} is not WxH (e.g. 640x480)") from None
    data["sources"][0].update(width=width, height=height, seed=args.seed)
    data["engine"].update(model=str(model), device=args.device)
    data["runtime"].update(max_frames=args.frames, batch_size=args.batch, log_inspections=args.verbose)
    if plc_port is None:
        # only the role: the demo's wide pulse window stays, else a CPU line misses every deadline
        data["plc"]["role"] = "off"
    else:
        data["plc"]["port"] = plc_port
    try:
        return InspectorConfig(**data)
    except ValidationError as exc:
        raise ConfigError("demo settings are invalid:", problems_of(exc)) from None


def demo_log(log: LogConfig, verbose: bool) -> LogConfig:
    """The configured log settings, format included; the level is the demo's: warnings and errors,
    info events too with ``-v`` (debug when ``log.level`` asks for it)."""
    if verbose:
        level = "debug" if log.level == "debug" else "info"
    else:
        level = "error" if log.level == "error" else "warning"
    return log.model_copy(update={"level": level})


def start_simulator(stack: ExitStack) -> PlcSimulator:
    """The PLC simulator on a free loopback port, stopped when the stack closes."""
    sim = PlcSimulator(host="127.0.0.1", port=0)
    sim.start()
    stack.callback(sim.stop)
    return sim


def handle(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise ConfigError("--frames must be at least 1")
    configure_logging(LogConfig(level="warning"), sys.stderr)  # until the config's log section is read
    model, stand_in = demo_model(args.model)
    if stand_in:
        print(STAND_IN_NOTE, file=sys.stderr)
    with ExitStack() as stack:
        sim = None if args.no_plc else start_simulator(stack)
        config = demo_config(args, model, sim.port if sim is not None else None)
        configure_logging(demo_log(config.log, args.verbose), sys.stderr)
        control = LineControl()
        with shutdown_signals(control), demo_progress(args.frames) as progress:
            app = progress.app = App(build_line(config, control=control))
            app.start()
            clean = app.run_until_stopped()
        print(summary(app, model, stand_in, sim))
    frames = app.line.stats.total()["frames"]
    return 0 if clean and frames >= args.frames else 1


class DemoProgress:
    """What the demo is doing, for the status line: loading the model, then frames counted."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.app: App | None = None  # set once the line is built (the model loaded and warm)

    def text(self) -> str:
        if self.app is None:
            return "loading the model and warming it up"
        done = self.app.line.stats.total()["frames"]
        return f"inspecting: frame {done}/{self.frames}" if done else "starting the line"


@contextmanager
def demo_progress(frames: int) -> Iterator[DemoProgress]:
    """Model load, warm-up and frames counted on stderr, when it is a terminal."""
    progress = DemoProgress(frames)
    with StatusLine() as line, activity(line, progress.text):
        yield progress


def summary(app: App, model: Path, stand_in: bool, sim: Any) -> str:
    """The table printed at the end of the demo."""
    total = app.line.stats.total()
    engine = app.line.engine
    verdicts = total["verdicts"]
    lines = [
        "",
        f"inspector demo — model {model.name}{'  [STAND-IN, random weights]' if stand_in else ''}, "
        f"device {getattr(engine, 'device', '?')}, batch {app.line.config.runtime.batch_size}",
        f"  frames     {total['frames']}",
        "  verdicts   "
        + "  ".join(f"{code} {verdicts.get(code, 0)}" for code in ("PASS", "REJECT", "ALARM"))
        + f"  (fail-safe {total['failsafe']})",
        f"  fps        {total['fps']:.2f}",
        f"  {'latency ms':<12}{'p50':>9}{'p95':>9}{'p99':>9}",
    ]
    for stage in STAGES:
        pct = total["latency_ms"].get(stage)
        if pct:
            lines.append(f"    {stage:<10}{pct['p50']:>9.2f}{pct['p95']:>9.2f}{pct['p99']:>9.2f}")
    drops = sum(app.line.queue_drops().values())
    lines.append(f"  drops      {drops}")
    stats = app.line.outputs.link_stats()
    if sim is not None:
        rejects, alarms = (sim.coil_rises(c) for c in (sim.registers.reject_coil, sim.registers.alarm_coil))
        # a write whose reply timed out is written again (same seq, the PLC matches by it): one block a part
        written = sim.results()
        blocks = len({result.seq for result in written})
        again = f", {len(written) - blocks} written again after a timeout" if len(written) > blocks else ""
        lines.append(
            f"  PLC sim    127.0.0.1:{sim.port}: {blocks} result blocks, "
            f"{rejects} reject pulses, {alarms} alarm pulses{again}"
        )
        if stats is not None:
            # pulses count coil rises: a part rejected while the coil is still on extends that
            # pulse, and a late verdict gets its result block (flagged late) but no pulse
            lines.append(
                f"             {stats.merged_pulses} parts merged into a running pulse, "
                f"{stats.late} late (block only, no pulse)"
            )
    else:
        lines.append("  PLC        none (--no-plc: verdicts counted and logged only)")
    if stats is not None:
        lines.append(plc_failsafe_line(stats))
    return "\n".join(lines)


def plc_failsafe_line(stats: Any) -> str:
    """Fail-safe as the PLC saw it. The verdicts line counts the pipeline's fail-safes; the PLC
    output also fails safe itself a part without a verdict by the end of its pulse window
    (capture + delay_ms + late_ms: code 900) and drops the verdict that comes after it."""
    return (
        f"             fail-safe at the PLC: {stats.errors} results, {stats.deadline_failsafes} of them "
        f"past their deadline (900, no verdict in time); {stats.late_verdicts} late verdicts dropped"
    )
