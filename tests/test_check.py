"""``check`` against the monitoring-plugins guidelines: perfdata, ranges, options."""

from __future__ import annotations

import math
import re

import pytest

from backends.model import Kind
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
    # The guidelines: ideally unique in the first 19 characters (RRD's limit).
    assert len({label[:19] for label in labels}) == len(labels)


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
    _, lines = check(capsys, "--scenario", scenario, *SEEDED, "-v")
    perf = perfdata_of(lines[0])
    for item in items:
        assert perf[item.partition("=")[0]] == item
    # The first line names the cause; the alarm is in the long output.
    assert any(line.startswith("[") and f"] {title}: " in line for line in lines[1:])


LIMITS = [
    # at the scenarios' own figures, so that the alarms and the ranges meet there
    ("rse-outage", "rule_stuck_warning_hours = 1\nrule_stuck_critical_hours = 20\n"),
    ("buffer-full", "time_to_full_warning_hours = 100\ntime_to_full_critical_hours = 62\n"),
    ("tape-checksum", "tape_checksum_warning = 23\ntape_checksum_critical = 24\n"),
    (
        "held-jobs",
        "stalled_dags_warning = 7\nheld_jobs_warning = 771\nheld_jobs_critical = 1000\n",
    ),
    ("held-jobs", "stalled_dags_warning = 0\n"),
    ("buffer-full", "buffer_warning_percent = 96\nbuffer_critical_percent = 97\n"),
]


@pytest.mark.parametrize(("scenario", "limits"), LIMITS)
def test_the_ranges_follow_the_configured_limits(capsys, tmp_path, scenario, limits):
    config = tmp_path / "limits.toml"
    config.write_text(f"[thresholds]\n{limits}")
    assert_ranges_agree_with_alarms(
        capsys, "--config", str(config), "--scenario", scenario, *SEEDED
    )


# ------------------------------------------------------------------- -w / -c


def test_a_critical_range_makes_buffer_full_not_critical(capsys):
    """buffer-full is 96.4 %: with -c 99 the figure is WARNING (the config's 80 stays)."""
    code, lines = check(capsys, "--scenario", "buffer-full", *SEEDED, "-c", "buffer_fill=99")
    assert code == 1
    assert lines[0].startswith(
        "XENON WARNING - buffer purge not running: 48.2 TB could be freed (cause of 2 alarms) | "
    )
    assert perfdata_of(lines[0])["buffer_fill"] == "buffer_fill=96.4%;80;99;0;100"
    assert len(lines) == 1
    _, lines = check(capsys, "--scenario", "buffer-full", *SEEDED, "-c", "buffer_fill=99", "-v")
    assert lines[2].startswith("[WARNING] buffer 96.4 % full: ")


def test_a_warning_range_inside(capsys):
    code, lines = check(
        capsys,
        "--scenario",
        "buffer-full",
        *SEEDED,
        "-w",
        "buffer_fill=@0:100",
        "-c",
        "buffer_fill=99",
    )
    assert code == 1
    assert perfdata_of(lines[0])["buffer_fill"] == "buffer_fill=96.4%;@100;99;0;100"
    code, lines = check(
        capsys,
        "--scenario", "buffer-full", *SEEDED,
        "-w", "buffer_fill=@0:50", "-c", "buffer_fill=99",
        "-w", "buffer_time_to_full=~:", "-c", "buffer_time_to_full=~:",
    )  # fmt: skip
    assert code == 0
    assert lines[0].startswith("XENON OK - buffer 96.4 % full, ")
    perf = perfdata_of(lines[0])
    assert perf["buffer_fill"] == "buffer_fill=96.4%;@50;99;0;100"
    assert perf["buffer_time_to_full"] == "buffer_time_to_full=226383s;~:;~:;0"


@pytest.mark.parametrize(
    ("critical", "code"),
    [
        ("@96.4:100", 2),  # the value as written, 96.4, is on the boundary: inside
        ("@96.5:100", 1),  # outside: left to the config's warning limit, 80
        ("96.4", 1),  # 96.4 is not above 96.4
        ("96.3", 2),
    ],
)
def test_a_range_judges_the_value_as_written(capsys, critical, code):
    got, lines = check(
        capsys, "--scenario", "buffer-full", *SEEDED, "-c", f"buffer_fill={critical}"
    )
    assert got == code
    assert lines[0].startswith(f"XENON {['OK', 'WARNING', 'CRITICAL'][code]} - buffer purge not")


#: nominal has 720 runs and no alarm: every form of range on the figure "runs".
RUN_RANGES = [
    ("700", 2, "700"),
    ("720", 0, "720"),
    ("720.5", 0, "720.5"),
    ("719.99", 2, "719.99"),
    ("0:720", 0, "720"),
    ("720:", 0, "720:"),
    ("721:", 2, "721:"),
    ("~:720", 0, "~:720"),
    ("~:719", 2, "~:719"),
    ("700:720", 0, "700:720"),
    ("720:720", 0, "720:720"),
    ("721:800", 2, "721:800"),
    ("@700:720", 2, "@700:720"),
    ("@721:800", 0, "@721:800"),
    ("@720", 2, "@720"),
    ("@719", 0, "@719"),
    ("@720:", 2, "@720:"),
    ("@~:719", 0, "@~:719"),
    ("-10:-1", 2, "-10:-1"),
    ("~:-1", 2, "~:-1"),
    ("~:", 0, "~:"),
    ("@~:", 2, "@~:"),
]


@pytest.mark.parametrize(("given", "code", "shown"), RUN_RANGES)
def test_every_range_form_on_a_figure_without_an_alarm(capsys, given, code, shown):
    got, lines = check(capsys, "--scenario", "nominal", *SEEDED, "-c", f"runs={given}", "-v")
    assert got == code
    assert perfdata_of(lines[0])["runs"] == f"runs=720;;{shown}"
    if code:
        assert lines[0].startswith("XENON CRITICAL - runs 720 | ")
        assert lines[1:] == [
            f"[CRITICAL] runs 720: runs=720: critical by -c runs={shown} "
            f"({parse(shown).describe()})"
        ]
    else:
        assert lines[0].startswith("XENON OK - buffer 29.4 % full, ")
        assert lines[1:] == []


@pytest.mark.parametrize(("given", "code", "shown"), RUN_RANGES)
def test_every_range_form_as_a_warning(capsys, given, code, shown):
    got, lines = check(capsys, "--scenario", "nominal", *SEEDED, "-w", f"runs={given}")
    assert got == (1 if code else 0)
    assert perfdata_of(lines[0])["runs"] == f"runs=720;{shown}"


def parse(text: str) -> Range:
    from console.ranges import parse_range

    return parse_range(text)


def test_a_range_replaces_the_alarm_a_figure_stands_for(capsys):
    # rse-outage: NIKHEF's oldest stuck rule for 22.9 h, WARNING at the config's 6 h
    code, lines = check(
        capsys, "--scenario", "rse-outage", *SEEDED, "-c", "rules_stuck_age=3600", "-v"
    )
    assert code == 2
    assert lines[0].startswith(
        "XENON CRITICAL - RSE NIKHEF_USERDISK down: its rules stuck, the others fine"
        " (cause of 2 alarms) | "
    )
    assert perfdata_of(lines[0])["rules_stuck_age"] == "rules_stuck_age=82299s;21600;3600;0"
    assert lines[1].startswith("[CAUSE] RSE NIKHEF_USERDISK down: ")
    assert lines[2].startswith("[CRITICAL] 7 rules stuck at NIKHEF_USERDISK: 5 of them stuck")
    assert lines[2].endswith(
        "; rules_stuck_age=82299s: critical by -c rules_stuck_age=3600 (alert if < 0 or > 3600)"
    )
    assert lines[3:] == [
        "[WARNING] NIKHEF_USERDISK unavailable: RSE NIKHEF_USERDISK is not available for "
        "reading or writing"
    ]
    # A wider range: the stuck rules' alarm is gone, the RSE's own stays.
    code, lines = check(capsys, "--scenario", "rse-outage", *SEEDED, "-w", "rules_stuck_age=86400")
    assert code == 1
    assert lines[0].startswith(
        "XENON WARNING - RSE NIKHEF_USERDISK down: its rules stuck, the others fine"
        " (cause of 1 alarm) | "
    )


def test_a_figure_without_an_alarm_gets_one(capsys):
    code, lines = check(capsys, "--scenario", "rse-outage", *SEEDED, "-c", "rules_stuck=5", "-v")
    assert code == 2
    # The CRITICAL the range raised, no cause explains it: named before the
    # WARNING cause.
    assert lines[0].startswith(
        "XENON CRITICAL - rules_stuck 7; RSE NIKHEF_USERDISK down: its rules stuck,"
        " the others fine (cause of 2 alarms) | "
    )
    assert lines[1].startswith("[CAUSE] RSE NIKHEF_USERDISK down: ")
    assert lines[2] == (
        "[CRITICAL] rules_stuck 7: rules_stuck=7: critical by -c rules_stuck=5 "
        "(alert if < 0 or > 5)"
    )
    code, lines = check(
        capsys, "--scenario", "nominal", *SEEDED, "-w", "buffer_free=@40000000000000"
    )
    assert code == 1
    assert lines[0].startswith("XENON WARNING - buffer_free 35.3 TB | ")
    assert perfdata_of(lines[0])["buffer_free"] == (
        "buffer_free=35311873429450B;@40000000000000;;0;50000000000000"
    )


def test_a_range_on_a_figure_raises_the_consoles_own_alarm(capsys):
    """jobs_held has the alarm jobs.held: a range that catches nominal's 0 held jobs raises it."""
    code, lines = check(capsys, "--scenario", "nominal", *SEEDED, "-w", "jobs_held=@0", "-v")
    assert code == 1
    assert lines[0].startswith("XENON WARNING - jobs_held 0 | ")
    assert perfdata_of(lines[0])["jobs_held"] == "jobs_held=0;@0;99"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-w", "nope=1"],
            "usage: argument -w/--warning: unknown figure 'nope'; the figures: "
            "buffer_fill, buffer_free, buffer_time_to_full, rules_stuck, rules_stuck_age, "
            "tape_failed, jobs_held, dags_stalled, runs, runs_unsafe, tape_checksum_failed, "
            "rucio_checksum_failed",
        ),
        (
            ["-c", "buffer_fill=20:10"],
            "usage: argument -c/--critical: buffer_fill: '20:10': start 20 is greater than end 10",
        ),
        (
            ["-c", "buffer_fill=abc"],
            "usage: argument -c/--critical: buffer_fill: 'abc' is not a range",
        ),
        (["-c", "buffer_fill="], "usage: argument -c/--critical: buffer_fill: empty range"),
        (["-w", "buffer_fill=1e3"], "'1e3' is not a range"),
        (["-w", "buffer_fill=/home/op:10"], "quote the range"),
        (
            ["-w", "80"],
            "usage: argument -w/--warning: '80': give FIGURE=RANGE, e.g. buffer_fill=90",
        ),
        (["-w", "=80"], "give FIGURE=RANGE"),
        (["-w"], "usage: argument -w/--warning: expected one argument"),
        (
            ["-w", "buffer_fill=80", "-w", "buffer_fill=85"],
            "usage: argument -w/--warning: buffer_fill given twice",
        ),
        (["-t", "0"], "usage: argument -t/--timeout: must be a number of seconds > 0 and at most"),
        (["-t", "-1"], "argument -t/--timeout: must be a number >= 0, got '-1'"),
        (["-t", "nan"], "argument -t/--timeout: must be a number >= 0"),
        (["-t", "inf"], "argument -t/--timeout: must be a number >= 0"),
        (["-t", "1e300"], "at most 86,400, got '1e300'"),
        (["-t", "abc"], "argument -t/--timeout: not a number: 'abc'"),
    ],
)
def test_bad_options_are_unknown_on_one_line(capsys, argv, message):
    code, lines = check(capsys, *argv)
    assert code == 3
    assert len(lines) == 1
    assert lines[0].startswith("XENON UNKNOWN - usage: ")
    assert message in lines[0]


# ----------------------------------------------------------------------- -v


def test_verbose_gives_one_line_per_alarm(capsys):
    code, lines = check(capsys, "--scenario", "buffer-full", *SEEDED, "-v")
    assert code == 2
    assert lines[0].startswith(
        "XENON CRITICAL - buffer purge not running: 48.2 TB could be freed (cause of 2 alarms) | "
    )
    assert lines[1:] == [
        "[CAUSE] buffer purge not running: 48.2 TB could be freed: restart the purge tool on the"
        " datamanager; it deletes purge-safe runs",
        "[CRITICAL] buffer 96.4 % full: 48.2 TB of 50.0 TB used, 1.8 TB free on /data/xenon/raw",
        "[WARNING] buffer full in 2.6 d: filling at 7.9 MB/s net, 1.8 TB free",
    ]
    # -vv is -v; without it the first line alone, the same.
    assert check(capsys, "--scenario", "buffer-full", *SEEDED, "-vv")[1] == lines
    assert check(capsys, "--scenario", "buffer-full", *SEEDED)[1] == lines[:1]
    _, lines = check(capsys, "--scenario", "nominal", *SEEDED, "--verbose")
    assert len(lines) == 1


def test_the_first_line_stays_short(capsys, monkeypatch):
    """Every RSE unavailable, with names of 300 characters: at most 200 before the perfdata."""
    from backends.model import RseStatus, TransfersSnapshot
    from console.config import load_config
    from console.fetching import Result
    from console.report import CheckOptions, check_line
    from tests.fakes import NOW

    rses = tuple(RseStatus(f"{i}" + "X" * 300, 0, 1, None, False, "EU") for i in range(5))
    results = {
        Kind.TRANSFERS: Result(Kind.TRANSFERS, "t", TransfersSnapshot(NOW, rses, ()), None, 0)
    }
    _, text = check_line(results, load_config(None))
    head = text.partition(" | ")[0]
    assert len(head) == 200
    # Five RSEs down, a cause each (their rules: none).
    assert head.startswith("XENON WARNING - RSE 0XXX") and head.endswith("XXX... (+4 more)")
    _, text = check_line(results, load_config(None), CheckOptions(verbose=1))
    assert len(text.splitlines()) == 11  # the first, five causes, five alarms
    # Short titles: three of them and how many more.
    rses = tuple(RseStatus(f"RSE{i}", 0, 1, None, False, "EU") for i in range(5))
    results = {
        Kind.TRANSFERS: Result(Kind.TRANSFERS, "t", TransfersSnapshot(NOW, rses, ()), None, 0)
    }
    _, text = check_line(results, load_config(None))
    assert text.startswith(
        "XENON WARNING - RSE RSE0 down: its rules stuck, the others fine (cause of 1 alarm);"
        " RSE RSE1 down: its rules stuck, the others fine (cause of 1 alarm) (+3 more) | "
    )


FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "text",
    [
        "a\x1b[2J\x1b[31mred\x1b[0m | b=1",
        "c\x9b2J\x85\u202egnp.exe",
        "g\nXENON OK - all fine | x=1\n\tindented",
        "mongodb://xenon:hunter2@db/ " + "h" * 5000,
    ],
)
def test_long_output_is_escaped(tmp_path, text):
    """Backend text (an RSE's error, a hold reason, a dsmc message) in every -v line."""
    from console.fetching import fetch_all
    from console.report import CheckOptions, check_line
    from tests.test_hostile_corpus import hostile_config

    _, config, sources = hostile_config(tmp_path, text)
    _, output = check_line(fetch_all(sources, config), config, CheckOptions(verbose=1))
    first, *rest = output.split("\n")
    assert len(rest) >= 3  # stuck rule, tape failure, held job
    assert first.count(" | ") == 1 and len(first.partition(" | ")[0]) <= 200
    for line in output.split("\n"):
        assert not FORBIDDEN.search(line), line
        assert len(line) <= 1000 or line is first
    for line in rest:
        assert "|" not in line
        assert line.startswith(("[CAUSE] ", "[CRITICAL] ", "[WARNING] ", "[UNKNOWN] "))
    assert "hunter2" not in output


# ------------------------------------------------------------ unreadable sources


@pytest.fixture
def fake_backends(monkeypatch):
    from console import fetching
    from tests.test_config import fake_factory

    monkeypatch.setattr(fetching, "create_backend", fake_factory)


def fake_config(tmp_path, **options: str) -> str:
    path = tmp_path / "fake.toml"
    opts = "".join(f"{k} = {v!r}\n" for k, v in options.items())
    path.write_text(f"[backends.simulator]\ntype = 'fake'\n{opts}")
    return str(path)


def test_every_source_unreadable_is_unknown(capsys, tmp_path, fake_backends):
    kinds_ = ("buffer", "transfers", "tape", "jobs", "runs")
    code, lines = check(
        capsys, "--config", fake_config(tmp_path, **dict.fromkeys(kinds_, "fail")), "-v"
    )
    assert code == 3
    assert lines[0] == (
        "XENON UNKNOWN - source down: buffer, jobs, runs, tape, transfers panes blind"
        " (cause of 5 alarms)"
    )
    assert len(lines) == 7
    assert lines[1].startswith("[CAUSE] source down: buffer, jobs, runs, tape, transfers panes")
    assert all(line.endswith("refused retry later") for line in lines[2:])
    assert "hunter2" not in "".join(lines)


def test_one_unreadable_source_makes_an_ok_check_unknown(capsys, tmp_path, fake_backends):
    code, lines = check(capsys, "--config", fake_config(tmp_path, runs="fail"))
    assert code == 3
    assert lines[0].startswith(
        "XENON UNKNOWN - source down: runs pane blind (cause of 1 alarm) | "
        "buffer_fill=50.0%;80;90;0;100 "
    )
    assert "runs=" not in lines[0]


def unreachable_mongo(tmp_path, scenario: str) -> str:
    """The simulator for every pane but the runs: a mongo that is not there."""
    path = tmp_path / "mongo.toml"
    path.write_text(
        f"""
[panes]
buffer = "simulator"
transfers = "simulator"
tape = "simulator"
jobs = "simulator"
runs = "rundb"
[backends.simulator]
scenario = "{scenario}"
speed = 0
[backends.rundb]
type = "mongo"
uri = "mongodb://xenon:hunter2@127.0.0.1:9/run"
server_selection_timeout = 0.5
connect_timeout = 0.5
"""
    )
    return str(path)


def test_an_unreachable_runs_database(capsys, tmp_path):
    """Otherwise OK: UNKNOWN. Otherwise CRITICAL: CRITICAL, the runs in the long output."""
    code, lines = check(capsys, "--config", unreachable_mongo(tmp_path, "nominal"), "-v")
    assert code == 3
    assert lines[0].startswith(
        "XENON UNKNOWN - source down: runs pane blind (cause of 1 alarm) | buffer_fill=29.4%"
    )
    assert lines[1].startswith("[CAUSE] source down: runs pane blind: ")
    assert lines[2].startswith("[UNKNOWN] runs source failing: SourceError: cannot reach the runs")
    code, lines = check(capsys, "--config", unreachable_mongo(tmp_path, "buffer-full"), "-v")
    assert code == 2
    # No runs: no purge-safe run to name, the buffer's alarms stay on their own.
    assert lines[0].startswith(
        "XENON CRITICAL - buffer 96.4 % full; buffer full in 2.6 d; source down: runs pane blind"
    )
    assert lines[-1].startswith("[UNKNOWN] runs source failing: ")
    assert "hunter2" not in "\n".join(lines)


def test_an_unreachable_prometheus(capsys, tmp_path):
    path = tmp_path / "prom.toml"
    path.write_text(
        "[panes]\nbuffer = 'lngs'\n[backends.simulator]\nspeed = 0\n"
        "[backends.lngs]\ntype = 'prometheus'\nurl = 'http://127.0.0.1:9/'\n"
    )
    code, lines = check(capsys, "--config", str(path))
    assert code == 3
    assert lines[0].startswith(
        "XENON UNKNOWN - source down: buffer pane blind (cause of 1 alarm) | rules_stuck=0 "
    )


# ----------------------------------------------------------------------- -t


def test_timeout_names_what_did_not_answer(capsys, tmp_path, fake_backends):
    import time

    config = fake_config(tmp_path, jobs="hang", runs="hang")
    start = time.monotonic()
    code, lines = check(capsys, "--config", config, "-t", "0.5", "-v")
    assert time.monotonic() - start < 3  # the hung fetches take 5 s
    assert code == 3
    assert lines[0].startswith(
        "XENON UNKNOWN - timed out after 0.5 s waiting for jobs (simulator), runs (simulator) | "
        "buffer_fill=50.0%"
    )
    assert lines[1:] == [
        "[CAUSE] source down: jobs, runs panes blind: check the backend's connection settings"
        " and the service it reads",
        "[UNKNOWN] jobs source failing: timed out after 0.5 s",
        "[UNKNOWN] runs source failing: timed out after 0.5 s",
    ]


def test_timeout_is_unknown_whatever_the_others_say(capsys, tmp_path, fake_backends):
    config = fake_config(tmp_path, jobs="hang")
    code, lines = check(capsys, "--config", config, "-t", "0.5", "-c", "buffer_fill=10")
    assert code == 3
    assert lines[0].startswith(
        "XENON UNKNOWN - timed out after 0.5 s waiting for jobs (simulator) | "
    )
    assert perfdata_of(lines[0])["buffer_fill"] == "buffer_fill=50.0%;80;10;0;100"


def test_a_timeout_not_reached_changes_nothing(capsys, tmp_path, fake_backends):
    config = fake_config(tmp_path)
    assert check(capsys, "--config", config, "-t", "5") == check(capsys, "--config", config)
    assert check(capsys, "--config", config, "-t", "5")[0] == 0


def test_timeout_replaces_the_configs(capsys, tmp_path, fake_backends):
    """A [timeouts] entry shorter than -t does not cut the check short."""
    path = tmp_path / "slow.toml"
    path.write_text("[backends.simulator]\ntype = 'fake'\n[timeouts]\nbuffer = 0.01\n")
    code, _ = check(capsys, "--config", str(path), "-t", "5")
    assert code == 0


# --------------------------------------------------------------- the rest


def test_an_internal_error_is_unknown_not_a_traceback(capsys, monkeypatch):
    """A traceback exits 1, which Nagios reads as WARNING."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero in an analysis")

    monkeypatch.setattr("console.report.check.alarms_for", broken)
    code, lines = check(capsys, "--scenario", "nominal", *SEEDED)
    assert code == 3
    assert lines == [
        "XENON UNKNOWN - internal error: ZeroDivisionError: division by zero in an analysis"
    ]


def test_labels_are_quoted_in_the_output(capsys, monkeypatch):
    """A pane whose figure's label has a space and a quote (a plug-in's, say)."""
    import dataclasses

    from console import specs
    from console.perfdata import Figure

    spec = specs.pane_spec(Kind.RUNS)
    odd = FigureSpec("run's count", "", "runs")

    def perfdata(snapshot, context) -> list[Figure]:
        return [odd(len(snapshot.runs))]

    monkeypatch.setitem(
        specs._PANES, Kind.RUNS, dataclasses.replace(spec, perfdata=perfdata, figures=(odd,))
    )
    code, lines = check(capsys, "--scenario", "nominal", *SEEDED, "-c", "run's count=700")
    assert code == 2
    assert lines[0].endswith(" 'run''s count'=720;;700")
    assert lines[0].startswith("XENON CRITICAL - run's count 720 | ")


# ------------------------------------------------------------------ README

README = (ROOT := __import__("pathlib").Path(__file__).resolve().parents[1]) / "README.md"


def readme_check_section() -> str:
    text = README.read_text()
    return text[
        text.index("With the default seed and a frozen clock") : text.index("## Configuration")
    ]


def test_the_readme_table_of_scenarios_is_true(capsys):
    rows = re.findall(r"^\| ([a-z-]+) \| (\d) \| `(XENON [^`]+)` \|$", readme_check_section(), re.M)
    assert [r[0] for r in rows] == SCENARIOS
    for scenario, code, line in rows:
        got, lines = check(capsys, "--scenario", scenario, *SEEDED)
        assert (got, lines[0].partition(" | ")[0]) == (int(code), line)


def test_the_readme_names_every_figure_with_its_unit_and_alarm():
    section = readme_check_section()
    for spec in figure_specs().values():
        row = re.search(rf"^  \| `{spec.label}` \|([^|]*)\|[^|]*\|([^|]*)\|", section, re.M)
        assert row is not None, spec.label
        assert row[1].strip() == (f"`{spec.uom}`" if spec.uom else "")
        alarm = f"`{spec.alarms.replace('*', '<RSE>')}`" if spec.alarms else "\u2013"
        assert row[2].strip().startswith(alarm), spec.label


def test_the_readme_example(capsys):
    example = re.search(r"^xenon-console (check .*)$", readme_check_section(), re.M)
    assert example is not None
    argv = example[1].split()[1:]
    code, lines = check(capsys, "--scenario", "buffer-full", *SEEDED, *argv)
    assert code == 2
    assert perfdata_of(lines[0])["buffer_fill"] == "buffer_fill=96.4%;85;95;0;100"
    assert perfdata_of(lines[0])["buffer_time_to_full"] == (
        "buffer_time_to_full=226383s;172800:;86400:;0"
    )


def test_a_failing_diagnosis_leaves_the_alarms_and_the_status(capsys, monkeypatch):
    import console.report.check as check_module

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("a rule tripped over garbage")

    monkeypatch.setattr(check_module, "diagnosis_for", broken)
    code, lines = check(capsys, "--scenario", "buffer-full", *SEEDED)
    assert code == 2
    assert lines[0].startswith("XENON CRITICAL - buffer 96.4 % full; buffer full in 2.6 d | ")
