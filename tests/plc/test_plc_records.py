"""Register encodings, config validation, and the plc-sim command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from inspector.messages import FailSafeCause, Reason, Verdict, VerdictCode, failsafe_verdict
from inspector.plc.config import PlcConfig, RegisterMap
from inspector.plc.records import ResultFlag, ResultRecord, decode_result, encode_result
from inspector.plc.registers import float_words, join_u32, split_u32, tenths_ms, words_float
from inspector.plc.stats import PlcCounters


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_u32_round_trip(value: int) -> None:
    high, low = split_u32(value)
    assert 0 <= high <= 0xFFFF and 0 <= low <= 0xFFFF
    assert join_u32(high, low) == value


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float32_round_trip(value: float) -> None:
    assert words_float(*float_words(value)) == value


def test_tenths_saturate_and_ignore_nonsense() -> None:
    assert tenths_ms(12.34) == 123
    assert tenths_ms(1e9) == 0xFFFF
    assert tenths_ms(float("nan")) == 0 and tenths_ms(-1.0) == 0


def test_result_block_layout() -> None:
    verdict = Verdict(
        VerdictCode.REJECT,
        reasons=(Reason("area", 12), Reason("count", 40)),
        measurements=(1.5, float("nan"), 3.0, 4.0, 5.0),
    )
    record = ResultRecord(
        seq=7, part_id=0x0102_0304, verdict=verdict, t_capture=0.0, inspect_ms=42.17, recipe=3
    )
    totals = PlcCounters(ok=70000, ng=3, errors=1, last_ms=42.17, avg_ms=40.0, max_ms=90.0, dropped=2)
    block = encode_result(record, totals, ResultFlag.LATE, measurements=4)
    assert len(block) == RegisterMap().result_len == 27
    assert block[:8] == [7, 0x0102, 0x0304, 2, 12, 2, 422, int(ResultFlag.LATE)]
    # Statistics: counters high word first, times in tenths of a millisecond.
    assert block[8:18] == [1, 70000 - 0x10000, 0, 3, 0, 1, 422, 400, 900, 2]
    assert block[18] == 3  # the recipe the part was judged by
    decoded = decode_result(block, 4)
    assert decoded.recipe == 3
    assert (decoded.ok, decoded.ng, decoded.errors) == (70000, 3, 1)
    assert (decoded.last_ms, decoded.avg_ms, decoded.max_ms, decoded.dropped) == (42.2, 40.0, 90.0, 2)
    assert decoded.measurements == (1.5, 0.0, 3.0, 4.0)  # NaN written as 0, extra value cut
    assert all(0 <= word <= 0xFFFF for word in block)


def test_statistics_saturate_in_their_registers() -> None:
    record = ResultRecord(1, 1, Verdict(VerdictCode.PASS), 0.0, 0.0)
    totals = PlcCounters(ok=1, last_ms=1e6, avg_ms=7000.0, max_ms=1e9, dropped=70000)
    decoded = decode_result(encode_result(record, totals, ResultFlag(0), 0), 0)
    assert (decoded.last_ms, decoded.avg_ms, decoded.max_ms) == (6553.5, 6553.5, 6553.5)
    assert decoded.dropped == 0xFFFF


def test_counters_average_inspected_parts_only() -> None:
    counters = PlcCounters()
    for verdict, ms in [
        (Verdict(VerdictCode.PASS), 10.0),
        (Verdict(VerdictCode.REJECT, reasons=(Reason("area", 3),)), 30.0),
        (failsafe_verdict(FailSafeCause.DEADLINE, "late"), 2000.0),  # no real inspection time
        (Verdict(VerdictCode.PASS), 20.0),
        (Verdict(VerdictCode.PASS), 0.0),  # no time measured: not averaged
    ]:
        counters = counters.with_verdict(verdict, ms)
    counters = counters.add(dropped=4)
    assert (counters.ok, counters.ng, counters.errors, counters.dropped) == (3, 1, 1, 4)
    assert (counters.last_ms, counters.avg_ms, counters.max_ms) == (20.0, 20.0, 30.0)
    assert PlcCounters().avg_ms == 0.0


def test_failsafe_codes_reach_the_first_code_register() -> None:
    record = ResultRecord(1, 1, failsafe_verdict(FailSafeCause.CAMERA_LOST, "x"), 0.0, 0.0)
    decoded = decode_result(encode_result(record, PlcCounters(), ResultFlag.FAILSAFE, 0), 0)
    assert decoded.first_code == 902 and decoded.verdict is VerdictCode.REJECT


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"registers": {"status": 10}}, "overlap"),
        ({"registers": {"plc_inputs": 30}}, "overlap"),
        ({"registers": {"reject_coil": 3, "alarm_coil": 3}}, "must differ"),
        ({"reconnect_min_ms": 900, "reconnect_max_ms": 500}, "reconnect_min_ms"),
        ({"reconnect_max_ms": 60000}, "less than or equal"),
        ({"failsafe": {"action": "pass"}}, "reject"),
    ],
)
def test_bad_plc_config_is_refused(values: dict, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        PlcConfig(**values)


def test_default_failsafe_is_reject() -> None:
    assert PlcConfig().failsafe.verdict_code is VerdictCode.REJECT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "plc-sim", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_plc_sim_cli_runs_and_exits() -> None:
    result = run_cli("--port", "0", "--play-handshake", "--heartbeat-ms", "50", "--duration", "0.4")
    assert result.returncode == 0, result.stderr
    assert "plc_sim.listening" in result.stdout and "plc_sim.summary" in result.stdout


def test_plc_sim_cli_refuses_a_bad_fault(capsys: pytest.CaptureFixture[str]) -> None:
    from inspector.cli import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["plc-sim", "--fault", "explode@3"])
    assert info.value.code == 2
    assert "bad fault" in capsys.readouterr().err


def test_line_example_plc_section_is_valid() -> None:
    from pathlib import Path

    from inspector.config.settings import load_config

    example = Path(__file__).resolve().parents[2] / "config" / "line-example.yaml"
    plc = load_config(example).plc
    assert plc.mode.value == "triggered" and plc.heartbeat.plc_timeout_ms == 1000
