"""``inspector plc-sim``: a simulated PLC on loopback that logs every write.

It serves the register map (from ``--config`` or the defaults), can play the PLC
side of the triggered handshake and a PLC heartbeat, and can inject faults on a
schedule, e.g. ``--fault drop@10 --fault stall@20+3 --fault exception@30+2:6``.
"""

from __future__ import annotations

import argparse
import re
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from inspector.errors import ConfigError
from inspector.logging import configure_logging, get_logger
from inspector.plc.simulator import PlcSimulator

FAULT_PATTERN = re.compile(r"^(drop|stall|exception|kill)@(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?(?::(\d+))?$")


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault: what, when (s after start), for how long, with which exception code."""

    kind: str
    at_s: float
    duration_s: float
    code: int


def parse_fault(text: str) -> Fault:
    match = FAULT_PATTERN.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"bad fault {text!r}: use KIND@START[+DURATION][:CODE], KIND one of drop, stall, exception, kill"
        )
    kind, at, duration, code = match.groups()
    return Fault(kind, float(at), float(duration or 0.0), int(code or 6))


def register(sub: Any, name: str) -> None:
    parser = sub.add_parser(name, help="simulated PLC (Modbus TCP server) on loopback; logs every write")
    parser.add_argument("--config", "-c", help="take the register map and device id from this config's plc:")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5020, help="TCP port (0 = any free port; default 5020)")
    parser.add_argument(
        "--device-id", type=int, default=None, help="Modbus device id (default from config, 1)"
    )
    parser.add_argument(
        "--play-handshake", action="store_true", help="trigger parts like a PLC and ack results"
    )
    parser.add_argument("--trigger-ms", type=float, default=500.0, help="trigger period (default 500)")
    parser.add_argument("--first-part", type=int, default=1, help="first part id (default 1)")
    parser.add_argument("--parts", type=int, default=None, help="stop triggering after this many parts")
    parser.add_argument("--no-ack", action="store_true", help="read results but never ack them")
    parser.add_argument(
        "--heartbeat-ms", type=float, default=100.0, help="PLC heartbeat period (default 100; 0 = off)"
    )
    parser.add_argument("--fault", type=parse_fault, action="append", default=[], help="KIND@S[+DUR][:CODE]")
    parser.add_argument("--duration", type=float, default=None, help="exit after this many seconds")
    parser.add_argument("--rtu-framing", action="store_true", help="RTU frames over TCP (serial gateway)")
    parser.add_argument(
        "--serial",
        metavar="PORT",
        default=None,
        help="serve RTU on this serial device instead of TCP (line settings from --config's plc.serial)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each write")
    parser.set_defaults(handler=handle)


def _simulator(args: argparse.Namespace) -> PlcSimulator:
    from inspector.plc.config import RegisterMap, SerialConfig

    registers, device_id, line = RegisterMap(), 1, SerialConfig()
    if args.config:
        from inspector.config.settings import load_config

        plc = load_config(args.config).plc
        registers, device_id, line = plc.registers, plc.device_id, plc.serial
    if args.device_id is not None:
        device_id = args.device_id
    if not 0 <= device_id <= 247:
        raise ConfigError(f"--device-id must be 0..247, not {device_id}")
    serial = line.model_copy(update={"port": args.serial}) if args.serial else None
    return PlcSimulator(
        args.host,
        args.port,
        device_id,
        registers,
        log_writes=not args.quiet,
        rtu_framing=args.rtu_framing,
        serial=serial,
        heartbeat_s=args.heartbeat_ms / 1000.0 if args.heartbeat_ms > 0 else None,
    )


def _start_program(sim: PlcSimulator, args: argparse.Namespace) -> None:
    # the heartbeat (--heartbeat-ms) is the simulator's own: it starts with every (re)start
    if args.play_handshake:
        sim.play_handshake(args.trigger_ms / 1000.0, args.first_part, args.parts)
        sim.set_ack(not args.no_ack)


def _apply(sim: PlcSimulator, fault: Fault, on: bool, args: argparse.Namespace, log: Any) -> None:
    log.warning("plc_sim.fault", kind=fault.kind, on=on, duration_s=fault.duration_s)
    if fault.kind == "drop" and on:
        sim.drop_connections()
    elif fault.kind == "stall":
        sim.stop_answering(on)
    elif fault.kind == "exception":
        sim.exception_replies(fault.code if on else None)
    elif fault.kind == "kill":
        if on:
            sim.stop()
        else:
            sim.start()
            _start_program(sim, args)


def _events(faults: list[Fault]) -> list[tuple[float, Fault, bool]]:
    events = []
    for fault in faults:
        events.append((fault.at_s, fault, True))
        if fault.duration_s > 0 and fault.kind != "drop":
            events.append((fault.at_s + fault.duration_s, fault, False))
    return sorted(events, key=lambda e: e[0])


def play(sim: PlcSimulator, args: argparse.Namespace, stop: threading.Event, log: Any) -> None:
    """Run the started simulator's program and fault schedule until ``stop`` or ``args.duration``."""
    started = time.monotonic()
    events = _events(args.fault)
    _start_program(sim, args)
    while not stop.is_set():
        elapsed = time.monotonic() - started
        while events and events[0][0] <= elapsed:
            _, fault, on = events.pop(0)
            _apply(sim, fault, on, args, log)
        if args.duration is not None and elapsed >= args.duration:
            break
        stop.wait(0.05)


def handle(args: argparse.Namespace) -> int:
    configure_logging()
    log = get_logger("inspector.plc.simulator")
    sim = _simulator(args)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sim.start()
    try:
        play(sim, args, stop, log)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        summary = _summary(sim)
        sim.stop()
        log.info("plc_sim.summary", **summary)
    return 0


def _summary(sim: PlcSimulator) -> dict[str, Any]:
    results = sim.results()
    regs = sim.registers
    return {
        "writes": len(sim.writes()),
        "results": len(results),
        "reject_pulses": sim.coil_rises(regs.reject_coil),
        "alarm_pulses": sim.coil_rises(regs.alarm_coil),
        "acked": len(sim.cycles()),
    }
