"""``[[policy.require]]`` and ``[policy.purge]``: the loader and its one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.analysis.policy import (
    DEFAULT_POLICY,
    PurgeRule,
    Region,
    Requirement,
    Slot,
    SlotKind,
)
from backends.analysis.safety import data_safety, purge_verdict
from backends.model import DataCopy, Run, RunDetail
from console.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
XENON1T = ROOT / "examples" / "policy-xenon1t.toml"


def test_the_xenon1t_policy_written_out_is_the_default() -> None:
    policy = load_config(XENON1T).policy
    assert policy == DEFAULT_POLICY


def test_the_xenonnt_profile_written_out_is_the_profile() -> None:
    from backends.analysis.policy import XENONNT_POLICY

    assert load_config(ROOT / "examples" / "policy-xenonnt.toml").policy == XENONNT_POLICY


def test_a_policy_of_a_test_set_up(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        """
[rses]
TEST_DISK = "US"

[[policy.require]]
name = "calibration"
sources = ["Kr83m", "Rn220"]
copies = ["rse:TEST_DISK"]

[[policy.require]]
name = "any run"
copies = ["outside:LNGS", "tape"]

[policy.purge.buffer1]
copies = ["rse:TEST_DISK"]
"""
    )
    policy = load_config(path).policy
    assert policy.require == (
        Requirement(
            "calibration",
            (Slot(SlotKind.RSE, rse="TEST_DISK"),),
            sources=frozenset({"Kr83m", "Rn220"}),
        ),
        Requirement("any run", (Slot(SlotKind.OUTSIDE, region=Region.LNGS), Slot(SlotKind.TAPE))),
    )
    assert policy.purge == (PurgeRule("buffer1", (Slot(SlotKind.RSE, rse="TEST_DISK"),)),)

    def run(source: str, *copies: DataCopy) -> Run:
        return Run(
            1,
            "r",
            __import__("datetime").datetime(2017, 1, 1),
            None,
            "tpc",
            source,
            (),
            None,
            None,
            copies,
        )

    disk = DataCopy("raw", "rucio-catalogue", "transferred", rse="TEST_DISK")
    buffer = DataCopy("raw", "buffer1", "transferred")
    kr = data_safety(run("Kr83m", disk), policy)
    assert kr.safe and kr.rules == ("calibration",)
    assert kr.reason == "calibration: 1 valid copy (TEST_DISK)"
    led = data_safety(run("LED", disk), policy)
    assert not led.safe and led.missing == ("tape",)
    assert led.reason == "any run: missing tape (none recorded)"
    purge = purge_verdict(run("LED", buffer, disk), policy)
    assert purge.allowed and purge.rules == ("purge rule of buffer1",)
    assert purge.reason == "valid Rucio copy at TEST_DISK"
    # The default buffer host is no buffer of this policy: its copy is no copy.
    old = purge_verdict(
        run("LED", DataCopy("raw", "xe1t-datamanager", "transferred"), disk), policy
    )
    assert not old.allowed and old.reason == "already purged"


def test_a_run_no_rule_applies_to_is_never_safe(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[policy.require]]\nname = "tpc"\ndetectors = ["tpc"]\ncopies = ["tape"]\n')
    policy = load_config(path).policy
    tape = DataCopy("raw", "tsm-server", "transferred", checksum="adler32:1")
    mv = Run(
        1, "r", datetime(2017, 1, 1, tzinfo=UTC), None, "muon_veto", "none", (), None, None, (tape,)
    )
    verdict = data_safety(mv, policy)
    assert not verdict.safe and verdict.reason == "no rule of the policy applies to this run"


BAD = [
    ("[policy]\nrequire = 3\n", r"\[\[policy.require\]\] must be one or more tables"),
    (
        "[policy]\ncolour = 'x'\n",
        r"\[policy\] unknown key 'colour' \(known: profile, require, purge, rucio_check\)",
    ),
    (
        "[policy]\nprofile = 'xenon2t'\n",
        r"profile must be one of 'xenon1t', 'xenonnt', got 'xenon2t'",
    ),
    ("[policy]\nrucio_check = 1\n", r"\[policy\] rucio_check must be true or false, got 1"),
    ("[[policy.require]]\ncopies = ['tape']\n", r"\[\[policy.require\]\] 1: name must be text"),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\ncolour = 1\n",
        r"\[\[policy.require\]\] 1: unknown key 'colour' \(known: name, copies,",
    ),
    ("[[policy.require]]\nname = 'a'\n", r"1 \(a\): copies must be a list of one or more slots"),
    ("[[policy.require]]\nname = 'a'\ncopies = []\n", r"copies must be a list of one or more"),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['Europe']\n",
        r"copies: 'Europe' is not a slot \(\"tape\", \"rse:NAME\"",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['region:Mars']\n",
        r"'region:Mars': 'Mars' is not a region \(US, Europe, LNGS\)",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['rse:uc_osg']\n",
        r"'rse:uc_osg': 'uc_osg' is not an RSE name",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['rse:SDSC_USERDISK']\n",
        r"'rse:SDSC_USERDISK' names an RSE the catalogue does not have \(add it to \[rses\]\)",
    ),
    (
        "[rses]\nCCIN2P3_USERDISK = false\nCNAF_USERDISK = false\nNIKHEF_USERDISK = false\n"
        "SURFSARA_USERDISK = false\nWEIZMANN_USERDISK = false\n"
        "[[policy.require]]\nname = 'a'\ncopies = ['region:Europe']\n",
        r"'region:Europe': the RSE catalogue has no RSE in Europe",
    ),
    ("[[policy.require]]\nname = 'a'\ncopies = ['tape', 'tape']\n", r"'tape' is listed twice"),
    ("[[policy.require]]\nname = 'a'\ncopies = [3]\n", r"copies: 3 \(int\) is not a slot"),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\nscience = 'yes'\n",
        r"science must be true or false, got 'yes'",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\ntags = 'bad'\n",
        r"tags must be a list of names, got 'bad'",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\ndata_type = 'raw records'\n",
        r"data_type must be a data type name",
    ),
    (
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\n"
        "[[policy.require]]\nname = 'a'\ncopies = ['tape']\n",
        r"two rules are named 'a'",
    ),
    ("[policy]\npurge = {}\n", r"\[policy.purge\] must hold a table per buffer host"),
    ("[policy.purge]\nhost = 3\n", r'\[policy.purge."host"\] must be a table'),
    ("[policy.purge.' eb']\ncopies = ['tape']\n", r'\[policy.purge." eb"\]: not a host name'),
    ("[policy.purge.eb0]\ncopies = ['tape']\nwhen = 1\n", r"unknown key 'when'"),
    ("[policy.purge.eb0]\n", r'\[policy.purge."eb0"\]: copies must be a list'),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_policy_errors_are_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path) + ": ")


# ------------------------------------------------ which rule decided, and hints

T = datetime(2017, 11, 1, tzinfo=UTC)
TAPE = DataCopy("raw", "tsm-server", "transferred", checksum="adler32:1")
BUFFER = DataCopy("raw", "xe1t-datamanager", "transferred")


def _science(*copies: DataCopy) -> Run:
    return Run(7, "171101_0007", T, T, "tpc", "none", ("_sciencerun1",), None, None, copies)


def test_audit_and_the_drill_down_say_which_rules_decided() -> None:
    from console.audit import FIELDS, audit_row
    from console.screens.run_details import describe_run

    run = _science(BUFFER, TAPE)
    row, _ = audit_row(run, DEFAULT_POLICY, None)
    assert FIELDS[-1] == "rules"
    assert row["rules"] == ["science run", "purge rule of xe1t-datamanager"]
    text = describe_run(RunDetail(T, 7, run)).plain
    assert (
        "Policy: rule 'science run' (UC_OSG_USERDISK, European RSE, tape); "
        "purge rule of xe1t-datamanager (tape, RSE outside LNGS)"
    ) in text


def test_hints_follow_the_configured_slots(tmp_path: Path) -> None:
    from backends.analysis.drilldown import hints

    path = tmp_path / "config.toml"
    path.write_text(
        '[rses]\nTEST_DISK = "US"\n'
        '[[policy.require]]\nname = "science run"\nscience = true\n'
        'copies = ["rse:TEST_DISK", "outside:LNGS", "tape"]\n'
    )
    policy = load_config(path).policy
    found = hints(RunDetail(T, 7, _science(BUFFER, TAPE)), None, policy=policy)
    by_problem = {h.problem: h.command for h in found}
    did = "x1t_SR001_171101_0007_tpc:raw"
    assert by_problem["no rule to TEST_DISK for a science run"] == (
        f"rucio rule add {did} --copies 1 --rses TEST_DISK"
    )
    outside = by_problem["no rule to an RSE outside LNGS"]
    assert outside.startswith(f"rucio rule add {did} --copies 1 --rses 'UC_OSG_USERDISK|")
    assert "LNGS_USERDISK" not in outside and outside.endswith("|TEST_DISK'")
    # The default policy's hints are as they were.
    default = {h.problem for h in hints(RunDetail(T, 7, _science(BUFFER, TAPE)), None)}
    assert {"no rule to UC_OSG_USERDISK for a science run", "no rule to a European RSE"} <= default


def test_a_policy_error_on_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    path = tmp_path / "config.toml"
    path.write_text("[[policy.require]]\nname = 'a'\ncopies = ['region:Mars']\n")
    for argv in (["report", "--json"], ["audit"], ["check"]):
        code = main([*argv, "--config", str(path)])
        captured = capsys.readouterr()
        err = captured.err + captured.out  # check's one line is on stdout
        assert code == (3 if argv == ["check"] else 2), argv
        assert "'region:Mars': 'Mars' is not a region" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
