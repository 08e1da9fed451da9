"""The systemd unit (verify prints nothing, exposure ≤ 2.5) and the idempotent install script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "inspector.service"
INSTALL = ROOT / "deploy" / "install.sh"
MAX_EXPOSURE = 2.5


@pytest.fixture
def systemd_analyze() -> None:
    require_tool("systemd-analyze")


@pytest.fixture
def jq() -> None:
    require_tool("jq")


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_has_the_required_settings() -> None:
    s = unit_settings()
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"]
    assert int(s["WatchdogSec"][0]) > 0 and s["MemoryMax"][0]
    assert s["StartLimitIntervalSec"] and s["StartLimitBurst"]
    assert s["User"] == ["inspector"] and s["NoNewPrivileges"] == ["yes"] and s["PrivateTmp"] == ["yes"]
    assert s["ProtectSystem"] == ["strict"] and "/var/lib/inspector" in s["ReadWritePaths"][0]
    allowed = " ".join(s["DeviceAllow"])
    assert "nvidia" in allowed and "video4linux" in allowed
    assert s["ExecStart"][0].startswith("/opt/inspector/venv/bin/inspector run --config /etc/inspector/")
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # systemctl reload: the config file again


def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists on this machine."""
    text = UNIT.read_text()
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={sys.executable}", text, flags=re.M)
    copy = tmp_path / "inspector.service"
    copy.write_text(text)
    return copy


@pytest.mark.usefixtures("systemd_analyze")
def test_systemd_analyze_verify_prints_nothing(tmp_path: Path) -> None:
    unit = unit_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 even on errors: any output at all is a finding.
    assert result.stdout + result.stderr == "", result.stdout + result.stderr
    assert result.returncode == 0


@pytest.mark.usefixtures("systemd_analyze")
def test_systemd_security_exposure(tmp_path: Path) -> None:
    unit = unit_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for inspector\.service: ([0-9.]+)", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def install(prefix: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["bash", str(INSTALL), "--prefix", str(prefix), "--no-pip", "--python", sys.executable, *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
        for p in sorted(root.rglob("*"))
        if not p.is_symlink()
    }


def test_install_script_is_idempotent_in_a_prefix(tmp_path: Path) -> None:
    prefix = tmp_path / "root"
    first = install(prefix)
    assert first.returncode == 0, first.stderr
    assert (prefix / "etc/systemd/system/inspector.service").read_bytes() == UNIT.read_bytes()
    assert (prefix / "opt/inspector/venv/bin/python").exists()
    # the unit's Documentation= and the operator's log views are installed too
    doc = re.search(r"^Documentation=file://(\S+)$", UNIT.read_text(), flags=re.M)
    assert (
        doc is not None
        and (prefix / doc.group(1).lstrip("/")).read_bytes() == (ROOT / "README.md").read_bytes()
    )
    logs = prefix / "opt/inspector/bin/inspector-logs"
    assert logs.read_bytes() == LOGS.read_bytes() and oct(logs.stat().st_mode & 0o777) == "0o755"
    assert "not linking /usr/local/bin/inspector-logs" in first.stdout
    assert (prefix / "etc/inspector/inspector.yaml").is_file()
    for sub in ("archive", "state"):
        assert (prefix / "var/lib/inspector" / sub).is_dir()
    assert oct((prefix / "etc/inspector").stat().st_mode & 0o777) == "0o750"
    # the operator edits the config; a second run changes nothing and keeps the edit
    config = prefix / "etc/inspector/inspector.yaml"
    config.write_text("# edited by the operator\n")
    before = tree(prefix)
    second = install(prefix)
    assert second.returncode == 0, second.stderr
    assert "kept (operator's config is never overwritten)" in second.stdout
    assert "inspector.service up to date" in second.stdout
    assert f"{prefix}/opt/inspector/README.md up to date" in second.stdout
    assert f"{prefix}/opt/inspector/bin/inspector-logs up to date" in second.stdout
    assert tree(prefix) == before


def test_install_dry_run_changes_nothing(tmp_path: Path) -> None:
    prefix = tmp_path / "root"
    result = install(prefix, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would run: install -m 0644" in result.stdout
    assert not prefix.exists()


def test_install_rejects_unknown_options(tmp_path: Path) -> None:
    result = install(tmp_path, "--frobnicate")
    assert result.returncode == 2 and "unknown option: --frobnicate" in result.stderr


LOGS = ROOT / "deploy" / "inspector-logs"
SAMPLE = Path(__file__).with_name("sample-log.jsonl")


def logs_view(view: str) -> str:
    result = subprocess.run(
        ["bash", str(LOGS), view, "-"], input=SAMPLE.read_text(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.usefixtures("jq")
def test_log_views_on_sample_lines() -> None:
    assert logs_view("rejects").splitlines() == [
        "2026-11-22T02:00:02Z cam0 part=8 REJECT defect_present:11#0 value=0.91 limit=0.5",
        "2026-11-22T02:00:03Z cam0 part=9 REJECT (failsafe) failsafe.out_of_memory:907",
    ]
    assert "failsafe.out_of_memory:907" in logs_view("failsafe")
    assert "batch reduced to 2" in logs_view("health")
    assert 'e2e_ms={"p50":31.2' in logs_view("stats")
    assert "Traceback (most recent call last):" in logs_view("tail")
    summary = json.loads(logs_view("summary"))
    assert summary == {
        "frames": 3,
        "verdicts": {"PASS": 1, "REJECT": 2},
        "failsafe": 1,
        "failsafe_causes": {"failsafe.out_of_memory:907": 1},
        "plc_failsafes": {"deadline:900": 0, "missed_trigger:906": 0, "shutdown:905": 0},
        "failsafe_total": 1,
    }


def stats_line(final: bool = False, **plc: int) -> str:
    counters = {"deadline_failsafes": 0, "missed_triggers": 0, "failed_at_shutdown": 0} | plc
    return json.dumps(
        {"event": "stats", "level": "info", "frames": 1, "plc": counters} | ({"final": True} if final else {})
    )


@pytest.mark.usefixtures("jq")
def test_summary_counts_the_plcs_failsafes_over_restarts() -> None:
    """PLC deadline fail-safes are not inspection events: summary reads them from the stats events'
    PLC counters (since start), adding each run's last value: a clean stop (final stats), then a
    crash (the counters start again from 0) and a run still going."""
    runs = [
        stats_line(deadline_failsafes=4),
        stats_line(deadline_failsafes=12, missed_triggers=1),
        stats_line(final=True, deadline_failsafes=13, missed_triggers=1, failed_at_shutdown=2),
        stats_line(deadline_failsafes=10),
        stats_line(deadline_failsafes=15),  # then the daemon crashed: no final stats
        stats_line(deadline_failsafes=2),
        '{"event": "stats", "plc": {"error": "link stage gone"}}',  # no counters: skipped
        SAMPLE.read_text(),
    ]
    result = subprocess.run(
        ["bash", str(LOGS), "summary", "-"], input="\n".join(runs), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["plc_failsafes"] == {
        "deadline:900": 13 + 15 + 2,
        "missed_trigger:906": 1,
        "shutdown:905": 2,
    }
    assert summary["failsafe"] == 1 and summary["failsafe_total"] == 1 + 30 + 1 + 2


def test_missing_tools_fail_under_ci_and_skip_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_tool("inspector-no-such-tool")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_tool("inspector-no-such-tool")


def test_dashboard_is_valid_json_with_panels() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "inspector-line" and len(dashboard["panels"]) >= 10
    assert all(p["targets"][0]["expr"] for p in dashboard["panels"])
    exprs = " ".join(p["targets"][0]["expr"] for p in dashboard["panels"])
    assert "reasons}}" not in exprs and "by (reasons)" not in exprs  # Loki's json parser skips arrays
