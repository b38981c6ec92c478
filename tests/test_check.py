"""``check`` against the monitoring-plugins guidelines: perfdata, ranges, options."""

from __future__ import annotations

import math
import re

import pytest

from console.perfdata import FigureSpec, quote_label
from console.ranges import Range
from console.specs import figure_specs, pane_specs

# ------------------------------------------------------------------ perfdata


@pytest.mark.parametrize(
    ("label", "quoted"),
    [
        ("buffer_fill", "buffer_fill"),
        ("rse.CNAF", "rse.CNAF"),
        ("free space", "'free space'"),
        ("a=b", "'a=b'"),
        ("it's", "'it''s'"),
        ("'", "''''"),
    ],
)
def test_labels_are_quoted_where_needed(label, quoted):
    assert quote_label(label) == quoted


PCT = FigureSpec("fill", "%", "a percentage", decimals=1)
BYTES = FigureSpec("free space", "B", "bytes")
COUNT = FigureSpec("held", "", "a count")


@pytest.mark.parametrize(
    ("figure", "text"),
    [
        (
            PCT(96.38, warn=Range.above(80), crit=Range.above(90), minimum=0, maximum=100),
            "fill=96.4%;80;90;0;100",
        ),
        (PCT(50), "fill=50.0%"),
        (PCT(-0.01), "fill=0.0%"),
        (PCT(math.nan, crit=Range.above(90)), "fill=U%;;90"),
        (
            BYTES(5 * 10**13, minimum=0, maximum=10**14),
            "'free space'=50000000000000B;;;0;100000000000000",
        ),
        (BYTES(3.5e13), "'free space'=35000000000000B"),
        (COUNT(7), "held=7"),
        (COUNT(0, warn=Range.at_least(1), crit=Range.at_least(100)), "held=0;0;99"),
        (COUNT(3, crit=Range(10, 20, inside=True)), "held=3;;@10:20"),
        (COUNT(3, maximum=10), "held=3;;;;10"),
    ],
)
def test_perfdata_format(figure, text):
    assert figure.perfdata() == text


def test_a_figure_is_read_as_it_is_written():
    assert PCT(96.38).reading == 96.4
    assert PCT(math.inf).reading is None
    assert PCT(96.38).shown == "96.4%"
    assert PCT(96.38, words="96.4 %").shown == "96.4 %"


def test_bad_figure_specs_are_refused():
    with pytest.raises(ValueError, match="unit 'GiB'"):
        FigureSpec("x", "GiB", "")
    for label in ("", "a|b", "a\nb"):
        with pytest.raises(ValueError, match="label"):
            FigureSpec(label, "", "")


#: What a perfdata item may look like (guidelines: value, min, max in [-0-9.]).
PERFDATA = re.compile(
    r"(?:[^\s'=|]+|'(?:[^']|'')+')=(?:-?[0-9.]+|U)(?:s|ms|us|%|B|KB|MB|GB|TB|c)?"
    r"(?:;[^;\s]*){0,4}"
)


def test_every_figure_is_declared_once():
    labels = [f.label for spec in pane_specs() for f in spec.figures]
    assert len(labels) == len(set(labels))
    assert list(figure_specs()) == labels


# ----------------------------------------------------------- the command line

SEEDED = ["--seed", "1", "--speed", "0"]
SCENARIOS = ["nominal", "uplink-down", "rse-outage", "tape-checksum", "held-jobs", "buffer-full"]


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def check(capsys, *argv: str) -> tuple[int, list[str]]:
    """``check``'s exit code and lines; it prints to stdout alone, never a traceback."""
    from console.cli import main

    code = main(["check", *argv])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "Traceback" not in captured.out
    assert captured.out.endswith("\n")
    return code, captured.out.splitlines()


def perfdata_of(line: str) -> dict[str, str]:
    """The perfdata items of a first line, by label."""
    _, _, perf = line.partition(" | ")
    items = perf.split(" ")
    for item in items:
        assert PERFDATA.fullmatch(item), item
    return {item.partition("=")[0]: item for item in items}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_figure_follows_the_guidelines_and_is_declared(capsys, scenario):
    _, lines = check(capsys, "--scenario", scenario, *SEEDED)
    assert set(perfdata_of(lines[0])) <= set(figure_specs())


def report_alarms(capsys, *argv: str) -> list[dict]:
    import json

    from console.cli import main

    assert main(["report", "--json", *argv]) == 0
    alarms: list[dict] = json.loads(capsys.readouterr().out)["alarms"]
    return alarms


RANK = {"OK": 0, "WARNING": 1, "CRITICAL": 2}


def range_verdict(item: str) -> str:
    """What the warn and crit fields of a perfdata item say of its value."""
    from console.ranges import parse_range

    fields = item.partition("=")[2].split(";")
    number = re.match(r"-?[0-9.]+", fields[0])
    assert number is not None
    value = float(number[0])
    warn, crit = [*fields[1:3], "", ""][:2]
    if crit and parse_range(crit).alerts(value):
        return "CRITICAL"
    if warn and parse_range(warn).alerts(value):
        return "WARNING"
    return "OK"


def assert_ranges_agree_with_alarms(capsys, *argv: str) -> None:
    from fnmatch import fnmatchcase

    _, lines = check(capsys, *argv)
    alarms = report_alarms(capsys, *argv)
    for label, item in perfdata_of(lines[0]).items():
        pattern = figure_specs()[label].alarms
        if pattern is None:
            continue
        severities = [a["severity"] for a in alarms if fnmatchcase(a["key"], pattern)]
        worst = max(severities, key=RANK.__getitem__, default="OK")
        assert range_verdict(item) == worst, (item, alarms)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_perfdata_ranges_say_what_the_alarms_say(capsys, scenario):
    assert_ranges_agree_with_alarms(capsys, "--scenario", scenario, *SEEDED)


def test_count_limits_alert_at_the_limit_in_perfdata_too(capsys, tmp_path):
    """held_jobs_warning = 770 warns at 770 held jobs: the range must too (it said 770)."""
    config = tmp_path / "limits.toml"
    config.write_text(
        "[thresholds]\nheld_jobs_warning = 770\nheld_jobs_critical = 771\n"
        "tape_failures_warning = 22\ntape_failures_critical = 23\n"
    )
    for scenario in ("held-jobs", "tape-checksum"):
        argv = ("--config", str(config), "--scenario", scenario, *SEEDED)
        assert_ranges_agree_with_alarms(capsys, *argv)
    _, lines = check(capsys, "--config", str(config), "--scenario", "held-jobs", *SEEDED)
    assert perfdata_of(lines[0])["jobs_held"] == "jobs_held=770;769;770"


@pytest.mark.parametrize(
    ("scenario", "items", "title"),
    [
        (
            "buffer-full",
            ["buffer_fill=96.4%;80;90;0;100", "buffer_time_to_full=226383s;259200:;86400:;0"],
            "buffer full in 2.6 d",
        ),
        (
            "rse-outage",
            ["rules_stuck=7", "rules_stuck_age=82299s;21600;86400;0"],
            "7 rules stuck at NIKHEF_USERDISK",
        ),
        (
            "tape-checksum",
            ["tape_failed=23;0;9", "tape_checksum_failed=23;0;4"],
            "23 tape copies failed checksum",
        ),
        ("held-jobs", ["jobs_held=770;0;99", "dags_stalled=7;0"], "7 DAGs stalled"),
    ],
)
def test_figures_that_the_alarms_use(capsys, scenario, items, title):
    _, lines = check(capsys, "--scenario", scenario, *SEEDED)
    perf = perfdata_of(lines[0])
    for item in items:
        assert perf[item.partition("=")[0]] == item
    assert title in lines[0]


LIMITS = [
    # at the scenarios' own figures, so that the alarms and the ranges meet there
    "rule_stuck_warning_hours = 1\nrule_stuck_critical_hours = 20\n",
    "time_to_full_warning_hours = 100\ntime_to_full_critical_hours = 62\n",
    "tape_checksum_warning = 23\ntape_checksum_critical = 24\n",
    "stalled_dags_warning = 7\nheld_jobs_warning = 771\nheld_jobs_critical = 1000\n",
    "stalled_dags_warning = 0\n",
    "buffer_warning_percent = 96\nbuffer_critical_percent = 97\n",
]


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("scenario", ["rse-outage", "buffer-full", "tape-checksum", "held-jobs"])
def test_the_ranges_follow_the_configured_limits(capsys, tmp_path, scenario, limits):
    config = tmp_path / "limits.toml"
    config.write_text(f"[thresholds]\n{limits}")
    assert_ranges_agree_with_alarms(
        capsys, "--config", str(config), "--scenario", scenario, *SEEDED
    )
