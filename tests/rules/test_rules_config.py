"""Invalid rules fail `inspector check` (exit 2, no traceback) naming the rule and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector.config.settings import load_config
from inspector.errors import ConfigError
from inspector.rules import build_verdicts, check_sources

SOURCES = "sources:\n  - {kind: synthetic, id: cam0}\n"  # `inspector check` needs one

GOOD = (
    SOURCES
    + """
rules:
  calibration: {px_per_mm: 12.5}
  zones:
    pads: {polygon: [[0, 0], [100, 0], [100, 80], [0, 80]]}
  rules:
    bridge: {kind: presence, code: 1, classes: [solder_bridge], min_score: 0.5}
    joint_small: {kind: instance, code: 2, classes: [good_joint], area_mm2: {lt: 0.35}}
    joint_count: {kind: count, code: 3, classes: [good_joint], count: {ne: 12}}
    joints_apart: {kind: distance, code: 4, classes: [good_joint], distance_mm: {lt: 0.2}}
    in_pads: {kind: zone, code: 5, zone: pads, classes: [good_joint], must_be: inside}
    reject_burst: {kind: history, code: 6, window: 10, max_rejects: 3}
    reject_rate: {kind: history, code: 7, window: 100, max_reject_rate_pct: 5}
  measurements: [joint_count, joint_small]
"""
)

BAD = [
    # (what, rules section, expected text on stderr)
    (
        "unknown feature",
        "rules:\n  r1: {kind: instance, code: 2, classes: [a], area_mmm2: {lt: 1}}\n",
        "rules.rules.r1.instance.area_mmm2: unknown key",
    ),
    (
        "code in the fail-safe range",
        "rules:\n  bridge: {kind: presence, code: 950, classes: [a]}\n",
        "rules.rules.bridge.presence.code",
    ),
    (
        "unknown kind",
        "rules:\n  odd: {kind: magic, code: 1, classes: [a]}\n",
        "rules.rules.odd",
    ),
    (
        "condition without comparison",
        "rules:\n  r2: {kind: instance, code: 1, classes: [a], area_px: {}}\n",
        "rules.rules.r2.instance.area_px",
    ),
    (
        "duplicate codes",
        "rules:\n  a1: {kind: presence, code: 4, classes: [a]}\n"
        "  a2: {kind: presence, code: 4, classes: [b]}\n",
        "rules.rules.a2.code: 4 is already used by rule 'a1'",
    ),
    (
        "unknown zone",
        "rules:\n  z: {kind: zone, code: 1, zone: nowhere, classes: [a], must_be: inside}\n",
        "rules.rules.z.zone: no zone 'nowhere'",
    ),
    (
        "unknown in_zone",
        "rules:\n  c: {kind: count, code: 1, classes: [a], in_zone: nowhere, count: {lt: 1}}\n",
        "rules.rules.c.in_zone: no zone 'nowhere'",
    ),
    (
        "zone rule with in_zone",
        "rules:\n  zz: {kind: zone, code: 1, zone: a, in_zone: a, classes: [a], must_be: inside}\n",
        "rules.rules.zz.zone: a zone rule names its zone under `zone`, not `in_zone`",
    ),
    (
        "mm without calibration",
        "rules:\n  small: {kind: instance, code: 1, classes: [a], area_mm2: {lt: 1}}\n",
        "rules.rules.small.area_mm2: needs rules.calibration",
    ),
    (
        "string where a number belongs",
        "rules:\n  small: {kind: instance, code: 1, classes: [a], area_px: {lt: big}}\n",
        "rules.rules.small.instance.area_px.lt",
    ),
    (
        "NaN limit (a rule that could never fire)",
        "rules:\n  r3: {kind: instance, code: 3, classes: [a], area_mm2: {lt: .nan}}\n",
        "rules.rules.r3.instance.area_mm2.lt: Input should be a finite number",
    ),
    (
        "infinite limit",
        "rules:\n  r4: {kind: count, code: 5, classes: [a], count: {gt: .inf}}\n",
        "rules.rules.r4.count.count.gt: Input should be a finite number",
    ),
    (
        "NaN score",
        "rules:\n  r5: {kind: presence, code: 6, classes: [a], min_score: .nan}\n",
        "rules.rules.r5.presence.min_score",
    ),
    (
        "history limit larger than window",
        "rules:\n  h: {kind: history, code: 1, window: 3, max_rejects: 5}\n",
        "rules.rules.h.history",
    ),
]


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_good_rules_pass_check(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    result = run_check(path)
    assert result.returncode == 0, result.stderr
    maker = build_verdicts(load_config(path).rules)
    assert [r.code for r in maker.part_rules] == [1, 2, 3, 4, 5]
    assert maker.measured == ("joint_count", "joint_small")


def write_rules(path: Path, section: str) -> Path:
    path.write_text(SOURCES + "rules:\n" + "".join(f"  {line}\n" for line in section.splitlines()))
    return path


@pytest.mark.parametrize(("what", "section", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_rule_names_rule_and_key(tmp_path: Path, what: str, section: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_rules(tmp_path / "bad.yaml", section))
    assert needle in str(info.value), what


def test_inspector_check_reports_every_bad_rule(tmp_path: Path) -> None:
    """One `inspector check` run lists every bad rule by name and key, exit 2, no traceback.
    Checks across rules run once each rule is valid on its own, hence two files."""
    across = {"duplicate codes", "unknown zone", "unknown in_zone", "mm without calibration"}
    for group in (
        [b for b in BAD if b[0] not in across],
        [b for b in BAD if b[0] in across],
    ):
        body = "rules:\n" + "".join(line + "\n" for b in group for line in b[1].splitlines()[1:])
        result = run_check(write_rules(tmp_path / "bad.yaml", body))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        for what, _, needle in group:
            assert needle in result.stderr, what


def test_unknown_class_names_rule_and_key(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("classes: [solder_bridge]", "classes: [solder_bridge, solder_brigde]"))
    maker = build_verdicts(load_config(path).rules)
    with pytest.raises(ConfigError) as info:
        maker.check_names(["good_joint", "solder_bridge"])
    text = str(info.value)
    assert "rules.rules.bridge.presence.classes" in text
    assert "'solder_brigde'" in text
    maker.check_names(["good_joint", "solder_bridge", "solder_brigde"])


def test_camera_without_calibration_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cams.yaml"
    path.write_text(
        GOOD.replace("calibration: {px_per_mm: 12.5}", "calibration: {cameras: {top: {px_per_mm: 9}}}")
    )
    maker = build_verdicts(load_config(path).rules)
    maker.check_sources(["top"])
    with pytest.raises(ConfigError, match=r"rules\.calibration\.cameras\.side"):
        maker.check_sources(["top", "side"])


def test_rule_sources_must_exist_and_limit_the_calibration_check(tmp_path: Path) -> None:
    path = tmp_path / "cams.yaml"
    text = GOOD.replace("calibration: {px_per_mm: 12.5}", "calibration: {cameras: {top: {px_per_mm: 9}}}")
    text = text.replace("area_mm2: {lt: 0.35}}", "area_mm2: {lt: 0.35}, sources: [top]}")
    text = text.replace("distance_mm: {lt: 0.2}}", "distance_mm: {lt: 0.2}, sources: [top]}")
    path.write_text(text.replace("count: {ne: 12}}", "count: {ne: 12}, sources: [top, sdie]}"))
    maker = build_verdicts(load_config(path).rules)
    with pytest.raises(ConfigError) as info:
        maker.check_sources(["top", "side"])
    assert "rules.rules.joint_count.count.sources: unknown source 'sdie'" in str(info.value)
    assert "cameras.side" not in str(info.value)  # the mm rules do not judge 'side'


def test_calibration_camera_must_name_a_source(tmp_path: Path) -> None:
    """A typo under rules.calibration.cameras would measure that camera with the default scale."""
    path = tmp_path / "cams.yaml"
    path.write_text(GOOD.replace("calibration: {px_per_mm: 12.5}", CAMERAS))
    rules = load_config(path).rules
    check_sources(rules, ["top", "side"])
    with pytest.raises(ConfigError) as info:
        check_sources(rules, ["top", "sdie"])
    text = str(info.value)
    assert "rules.calibration.cameras.side: no source with id 'side'; the sources are: top, sdie" in text
    with pytest.raises(ConfigError, match=r"rules\.calibration\.cameras\.side"):
        build_verdicts(rules).check_sources(["top"])  # the maker runs the same check


def test_inspector_check_refuses_a_calibration_for_no_source(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(SOURCES + "rules:\n  calibration: {px_per_mm: 10, cameras: {cma0: {px_per_mm: 9}}}\n")
    result = run_check(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "rules.calibration.cameras.cma0" in result.stderr


CAMERAS = "calibration: {px_per_mm: 12.5, cameras: {top: {px_per_mm: 9}, side: {px_per_mm: 8}}}"


def test_start_checks_run_on_a_bare_config() -> None:
    """`inspector check` runs check_sources / check_names without torch, OpenCV or a model."""
    code = (
        "import sys\n"
        "from inspector.rules import RulesConfig, check_names, check_sources\n"
        "cfg = RulesConfig(calibration={'cameras': {'top': {'px_per_mm': 9}}},\n"
        "    rules={'b': {'kind': 'presence', 'code': 1, 'classes': ['bridge']}})\n"
        "check_sources(cfg, ['top'])\n"
        "check_names(cfg, ['bridge'])\n"
        "print(sorted(m for m in ('torch', 'cv2') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_zone_vertices_must_be_finite(tmp_path: Path) -> None:
    path = tmp_path / "zone.yaml"
    path.write_text(
        SOURCES + "rules:\n  zones:\n    pads: {polygon: [[0, 0], [100, .nan], [100, 80]]}\n"
        "    far: {polygon: [[0, 0], [.inf, 0], [100, 80]]}\n"
    )
    result = run_check(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "rules.zones.pads.polygon.1.1: Input should be a finite number" in result.stderr
    assert "rules.zones.far.polygon.1.0: Input should be a finite number" in result.stderr


def test_homography_must_be_invertible_3x3(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(
        "rules:\n  calibration:\n    cameras:\n      cam0: {homography: [[1, 0, 0], [0, 1, 0]]}\n"
    )
    with pytest.raises(ConfigError, match=r"rules\.calibration\.cameras\.cam0\.homography"):
        load_config(path)


def test_every_rules_field_is_described() -> None:
    from inspector.rules import config, specs

    models = [
        config.RulesConfig,
        config.Calibration,
        config.CameraCalibration,
        config.Zone,
        specs.Condition,
        specs.InstanceSpec,
        specs.PresenceSpec,
        specs.CountSpec,
        specs.DistanceSpec,
        specs.ZoneSpec,
        specs.HistorySpec,
    ]
    missing = [f"{m.__name__}.{n}" for m in models for n, f in m.model_fields.items() if not f.description]
    assert missing == []


def test_line_example_rules_validate_commented_and_uncommented(tmp_path: Path) -> None:
    """The example's rules section is valid as shipped and with its commented rules switched on."""
    import re

    text = (Path(__file__).parents[2] / "config" / "line-example.yaml").read_text()
    start, end = text.index("# --- rules"), text.index("# --- end rules")
    section = text[start:end]
    switched_on = re.sub(r"^(\s*)# (?=[a-z_]+:|\s)", r"\1", section, flags=re.M)
    for body in (section, switched_on):
        path = tmp_path / "rules.yaml"
        path.write_text(body)
        rules = load_config(path).rules
        build_verdicts(rules).check_names(
            ["good_joint", "solder_bridge", "insufficient_solder", "excess_solder", "missing_joint"]
        )
    assert len(load_config(path).rules.rules) == 7


def test_rule_named_twice_is_refused(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys; a rule must not vanish that way."""
    path = tmp_path / "dup.yaml"
    path.write_text(
        "rules:\n  rules:\n"
        "    bridge: {kind: presence, code: 1, classes: [a]}\n"
        "    bridge: {kind: presence, code: 2, classes: [b]}\n"
    )
    with pytest.raises(ConfigError, match=r"rules\.rules\.bridge: key given twice \(lines 3 and 4\)"):
        load_config(path)
