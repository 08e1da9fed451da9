"""The register layout is one table: encode, decode, config lengths and the deployed map agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.plc.config import PLC_INPUTS_LEN, STATUS_LEN, RegisterMap
from inspector.plc.register_doc import main, render_document
from inspector.plc.registers import AREAS, PLC_INPUTS, RESULT, STATUS, decode, encode

MAP = Path(__file__).resolve().parents[2] / "deploy" / "plc-register-map.md"


def test_deployed_register_map_matches_the_table() -> None:
    text = MAP.read_text(encoding="utf-8")
    assert render_document(text) == text, (
        "deploy/plc-register-map.md differs from inspector/plc/registers.py: run "
        "`python -m inspector.plc.register_doc --update deploy/plc-register-map.md`"
    )


def test_a_changed_table_row_is_noticed() -> None:
    text = MAP.read_text(encoding="utf-8").replace("| 3 | 13 | verdict |", "| 3 | 13 | verdikt |")
    assert render_document(text) != text


def test_update_rewrites_only_the_generated_tables(tmp_path: Path) -> None:
    stale = tmp_path / "map.md"
    stale.write_text(MAP.read_text(encoding="utf-8").replace("PLC heartbeat |", "heartbeat of the PLC |"))
    assert main(["--update", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == MAP.read_text(encoding="utf-8")


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        render_document("# no tables here\n")


def test_areas_are_contiguous_and_config_lengths_come_from_them() -> None:
    for area in AREAS:
        offset = 0
        for field in area.fields:
            assert field.offset == offset, (area.config_key, field.key)
            offset += field.length
    assert (STATUS_LEN, PLC_INPUTS_LEN) == (4, 6)
    assert RegisterMap().result_len == RESULT.length(4) == 27
    assert RegisterMap(measurements=0).result_len == RESULT.fixed_length == 19


@pytest.mark.parametrize("area", AREAS, ids=lambda a: a.config_key)
def test_every_area_round_trips(area) -> None:
    values = {}
    for index, field in enumerate(area.fields, start=1):
        if field.encoding.name == "REALS":
            values[field.key] = (1.5, -2.0)
        elif field.encoding.name == "TENTHS_MS":
            values[field.key] = index * 1.5
        elif field.encoding.name == "UDINT":
            values[field.key] = 0x10000 * index + 7
        else:
            values[field.key] = index
    block = encode(area, values, reals=2)
    assert len(block) == area.length(2)
    assert decode(area, block, reals=2) == values


def test_status_and_inputs_offsets() -> None:
    assert [STATUS.offset(k) for k in ("status_word", "heartbeat", "error_code", "recipe")] == [0, 1, 2, 3]
    assert [PLC_INPUTS.offset(k) for k in ("trigger", "ack", "part_id", "heartbeat", "recipe")] == [
        0, 1, 2, 4, 5,
    ]  # fmt: skip


def test_config_refuses_an_area_past_the_address_space() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ends past register 65535"):
        RegisterMap(result=65515)  # 19 fixed registers fit, the 4 measurements do not
