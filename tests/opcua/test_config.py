"""The OPC UA section, passwords and the server's queue: what needs no asyncua."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from inspector.config.checks import line_problems
from inspector.config.settings import InspectorConfig
from inspector.errors import ConfigError
from inspector.messages import FrameMsg, Verdict, VerdictCode
from inspector.opcua import LineState, OpcUaConfig, OpcUaServer, PartResult, VisionState
from inspector.opcua.passwords import hash_password, matches

SOURCE = {"kind": "folder", "id": "cam0", "path": "/nonexistent"}


def test_anonymous_access_off_loopback_is_refused_at_check(tmp_path: Path) -> None:
    source = {**SOURCE, "path": str(tmp_path)}
    everywhere = {"enabled": True, "endpoint": "opc.tcp://0.0.0.0:4840/inspector"}
    problems, _ = line_problems(InspectorConfig(sources=[source], opcua=everywhere), engine_given=True)
    assert [key for key, _ in problems] == ["opcua.anonymous"]
    allowed = {**everywhere, "anonymous": "on"}
    assert line_problems(InspectorConfig(sources=[source], opcua=allowed), engine_given=True)[0] == []


def test_the_line_example_lists_every_opcua_key() -> None:
    import yaml

    from inspector.config.settings import load_config
    from inspector.opcua.config import OpcUaSecurity, OpcUaUser

    path = Path(__file__).resolve().parents[2] / "config" / "line-example.yaml"
    data = yaml.safe_load(path.read_text())["opcua"]
    assert set(data) == set(OpcUaConfig.model_fields)
    assert set(data["security"]) == set(OpcUaSecurity.model_fields)
    assert set().union(*data["users"]) == set(OpcUaUser.model_fields)
    assert load_config(path).opcua.users[0].role.value == "operator"


def test_the_check_names_each_opcua_problem_by_its_key(tmp_path: Path) -> None:
    opcua = {
        "enabled": True,
        "endpoint": "opc.tcp://192.0.2.1:4840/inspector",
        "anonymous": "off",
        "users": [{"name": "a", "password_file": str(tmp_path / "missing")}],
        "security": {"policy": "basic256sha256", "certificate": str(tmp_path / "cert.der")},
    }
    config = InspectorConfig(sources=[{**SOURCE, "path": str(tmp_path)}], opcua=opcua)
    problems = dict(line_problems(config, engine_given=True)[0])
    assert set(problems) == {
        "opcua.users.0.password_file",
        "opcua.security.certificate",
        "opcua.security.private_key",
    }


def test_a_user_gives_exactly_one_password() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="exactly one of"):
        OpcUaConfig(users=[{"name": "a", "password_env": "A", "password_file": "/x"}])


def test_a_password_matches_only_its_hash() -> None:
    stored = hash_password("s3cret", iterations=1000)
    assert matches("s3cret", stored) and not matches("s3cret ", stored) and not matches("x", "garbage")


def test_a_missing_password_variable_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_OPCUA_NOBODY", raising=False)
    config = OpcUaConfig(enabled=True, users=[{"name": "a", "password_env": "TEST_OPCUA_NOBODY"}])
    with pytest.raises(ConfigError, match=r"opcua.users.0.password_env"):
        OpcUaServer(config, lambda: LineState(VisionState.READY))


def frame(seq: int, verdict: Verdict | None) -> FrameMsg:
    return FrameMsg(
        seq, "cam0", time.monotonic(), np.zeros((2, 2, 3), np.uint8), part_id=seq, verdict=verdict
    )


def test_submit_never_waits_a_full_queue_drops_and_counts() -> None:
    server = OpcUaServer(OpcUaConfig(queue_size=2), lambda: LineState(VisionState.READY))
    taken = [server.submit(frame(seq, Verdict(VerdictCode.PASS))) for seq in range(5)]
    assert taken == [True, True, False, False, False]
    stats = server.stats()
    assert (stats.queued, stats.dropped, stats.published) == (2, 3, 0)
    server.stop(timeout=1.0)  # never started: nothing to wait for


def test_a_part_without_a_verdict_is_shown_failed_safe_never_passed() -> None:
    result = PartResult.of(frame(7, None))
    assert (result.verdict, result.code, result.failsafe) == ("NONE", 0, True)
    assert result.result_id == "cam0-7" and abs(result.timestamp - time.time()) < 60


@pytest.mark.parametrize("command", ["check", "run"])
def test_check_and_run_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    from inspector.cli import main

    (tmp_path / "frames").mkdir()
    path = tmp_path / "line.yaml"
    path.write_text(
        f"sources: [{{kind: folder, id: cam0, path: {tmp_path / 'frames'}}}]\n"
        "opcua: {enabled: true, endpoint: 'opc.tcp://0.0.0.0:4840/inspector'}\n"
    )
    code = main([command, "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "opcua.anonymous" in err and "Traceback" not in err


# SHA-256 of the NodeSet as the OPC Foundation publishes it (UA-Nodeset, MachineVision/)
NODESET_SHA256 = "3e67454155a9618e0981aa8b3ee248f7a9ee216f9f915b53eb26a69533c0cc62"


def test_the_nodeset_ships_unchanged_with_its_licence() -> None:
    import hashlib

    import inspector.opcua

    path = Path(inspector.opcua.__file__).parent / "nodesets" / "Opc.Ua.MachineVision.NodeSet2.xml"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == NODESET_SHA256
    assert b"OPC Foundation MIT License 1.00" in data[:2000]
