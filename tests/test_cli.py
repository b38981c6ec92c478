"""The command line: report, report --json, check, errors; and console.safe_text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console import fetching
from console.cli import main
from console.safe_text import escape_markup, redact_secrets, strip_controls
from tests.test_config import fake_factory

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(sys.executable).with_name("xenon-console")


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


# --------------------------------------------------------------- safe_text


def test_clean_strips_escape_sequences_and_controls():
    assert strip_controls("a\x1b[31mred\x1b[0m b") == "ared b"
    assert strip_controls("x\x1b]0;evil title\x07y") == "xy"
    assert strip_controls("x\x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\y") == "xlinky"
    assert strip_controls("x\x1bPdcs-payload\x1b\\y") == "xy"
    assert strip_controls("x\x9b2Jy") == "xy"
    # One line unless asked: a newline in a name must not fake a line.
    assert strip_controls("tab\tnew\nline") == "tab\ufffdnew\ufffdline"
    assert strip_controls("tab\tnew\nline", lines=True) == "tab\tnew\nline"
    assert strip_controls("bell\x07 cr\r del\x7f nul\x00 c1\x85") == (
        "bell\ufffd cr\ufffd del\ufffd nul\ufffd c1\ufffd"
    )
    assert strip_controls("lone \x1b") == "lone "
    assert strip_controls(42) == "42"
    assert strip_controls("[bold]not markup[/]") == "[bold]not markup[/]"
    assert escape_markup("[bold]x\x1b[0m") == "\\[bold]x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mongodb://user:pw@host:27017/run", "mongodb://user:***@host:27017/run"),
        (
            "mongodb+srv://xe1t:p%40ss@cluster/db?authSource=admin",
            "mongodb+srv://xe1t:***@cluster/db?authSource=admin",
        ),
        ("https://rucio.example/auth?token=abc123&x=1", "https://rucio.example/auth?token=***&x=1"),
        ("password=hunter2 next", "password=*** next"),
        ('{"db_password": "s3cr3t"}', '{"db_password": "***"}'),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
        ("X-Rucio-Auth-Token: root-xenon-abc", "X-Rucio-Auth-Token: ***"),
        ("mongodb://host:27017/ no password", "mongodb://host:27017/ no password"),
        ("3 tokens: fine", "3 tokens: fine"),
    ],
)
def test_redact_secrets(text, expected):
    assert redact_secrets(text) == expected


# ------------------------------------------------------------ usage errors


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("xenon-console: error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--seed", "abc", "report"], "argument --seed: not a whole number: 'abc'"),
        (["report", "--speed", "-1"], "argument --speed: must be a number >= 0, got '-1'"),
        (["report", "--speed", "nan"], "argument --speed: must be a number >= 0"),
        (["--runs", "0", "report"], "argument --runs: must be a whole number > 0"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["report", "--colour"], "unrecognized arguments: --colour"),
        (["--config", "/nonexistent/x.toml", "report"], "config file not found"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    assert fragment in one_error_line(capsys)


def test_bad_config_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[intervals]\nbuffer = 'fast'\n")
    assert main(["--config", str(path), "report"]) == 2
    line = one_error_line(capsys)
    assert line == (
        f"xenon-console: error: {path}: [intervals] buffer must be a positive "
        "number of seconds, at most 86,400 (a day), got 'fast'"
    )


def test_check_reports_usage_and_config_errors_as_unknown(tmp_path, capsys):
    assert main(["check", "--seed", "abc"]) == 3
    out = capsys.readouterr().out
    assert out == "XENON UNKNOWN - usage: argument --seed: not a whole number: 'abc'\n"
    path = tmp_path / "c.toml"
    path.write_text("[panes]\nbuffer = 'nowhere'\n")
    assert main(["--config", str(path), "check"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("XENON UNKNOWN - config error: ")
    assert "[panes] buffer = 'nowhere' names no [backends.nowhere] section" in out


def test_unknown_backend_type_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[panes]\nbuffer = 'x'\n[backends.x]\ntype = 'nosuch'\n")
    assert main(["--config", str(path), "report"]) == 2
    assert "[backends.x] unknown backend type 'nosuch'" in one_error_line(capsys)


def test_version_and_list_backends(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("xenon-console ")
    assert main(["--list-backends"]) == 0
    assert "simulator" in capsys.readouterr().out


# ------------------------------------------- report/check over a fake backend


@pytest.fixture
def fake_backends(monkeypatch):
    monkeypatch.setattr(fetching, "create_backend", fake_factory)


def fake_config_file(tmp_path, **options) -> str:
    path = tmp_path / "fake.toml"
    opts = "".join(f"{k} = {v!r}\n" for k, v in options.items())
    path.write_text(f"[backends.simulator]\ntype = 'fake'\n{opts}")
    return str(path)


def test_report_json_shape_with_a_failing_source(tmp_path, capsys, fake_backends):
    config = fake_config_file(tmp_path, tape="fail")
    assert main(["--config", config, "report", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"buffer", "transfers", "tape", "jobs", "runs", "alarms"} <= set(data)
    for kind in ("buffer", "transfers", "tape", "jobs", "runs"):
        assert {"source", "taken_at", "error"} <= set(data[kind])
        assert data[kind]["source"] == "simulator"
    assert data["buffer"]["fill_percent"] == 50.0
    assert data["buffer"]["taken_at"] == "2017-06-01T12:00:00+00:00"
    assert data["tape"]["taken_at"] is None
    assert data["tape"]["error"] == (
        "ConnectionError: mongodb://xenon:***@db:27017 refused retry later"
    )
    assert data["tape"]["queued"] is None and data["tape"]["failed_uploads"] == []
    assert data["alarms"] == [
        {
            "key": "source.tape.down",
            "severity": "UNKNOWN",
            "kind": "tape",
            "title": "tape source failing",
            "detail": data["tape"]["error"],
            "since": None,
            "hint": "check the backend's connection settings and the service it reads",
            "count": None,
        }
    ]
    assert data["status"] == "UNKNOWN"


def test_report_tables_without_colour_when_piped(tmp_path, capsys, fake_backends):
    assert main(["--config", fake_config_file(tmp_path, tape="fail"), "report"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert "XENON computing chain UNKNOWN" in out
    assert "TAPE from simulator  error: ConnectionError" in out
    assert "hunter2" not in out


def test_check_with_a_failing_source_is_unknown(tmp_path, capsys, fake_backends):
    assert main(["check", "--config", fake_config_file(tmp_path, tape="fail")]) == 3
    out = capsys.readouterr().out
    assert out.startswith(
        "XENON UNKNOWN - source down: tape pane blind (cause of 1 alarm) | "
        "buffer_fill=50.0%;80;90;0;100"
    )


def test_check_all_quiet_is_ok(tmp_path, capsys, fake_backends):
    assert main(["check", "--config", fake_config_file(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("XENON OK - buffer 50.0 % full, 0 rules, 0 jobs running, 0 runs | ")


# ------------------------------------------------------------- entry point


def run_entry_point(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENTRY_POINT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_entry_point_version_and_usage_error():
    assert ENTRY_POINT.exists()
    done = run_entry_point("--version")
    assert done.returncode == 0 and done.stdout.startswith("xenon-console 0.")
    done = run_entry_point("report", "--seed", "abc")
    assert done.returncode == 2
    assert done.stderr == (
        "xenon-console: error: argument --seed: not a whole number: 'abc' "
        "(see xenon-console --help)\n"
    )


# ------------------------------------------------- the seeded simulator

SEEDED = ["--seed", "1", "--speed", "0"]


def report_json(capsys, *argv: str) -> dict:
    assert main(["report", "--json", *SEEDED, *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("scenario", "status", "keys"),
    [
        ("nominal", 0, []),
        ("uplink-down", 1, ["buffer.uplink"]),
        ("rse-outage", 1, ["rse.NIKHEF_USERDISK.stuck", "rse.NIKHEF_USERDISK.unavailable"]),
        ("tape-checksum", 2, ["tape.checksum", "tape.failures"]),
        ("held-jobs", 2, ["jobs.held", "jobs.dags_stalled"]),
        ("buffer-full", 2, ["buffer.fill", "buffer.time_to_full"]),
    ],
)
def test_check_per_scenario(capsys, scenario, status, keys):
    assert main(["check", "--scenario", scenario, *SEEDED]) == status
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    name = ["OK", "WARNING", "CRITICAL"][status]
    assert out.startswith(f"XENON {name} - ")
    assert " | buffer_fill=" in out
    data = report_json(capsys, "--scenario", scenario)
    assert [a["key"] for a in data["alarms"]] == keys
    assert data["status"] == name


@pytest.mark.parametrize(
    ("scenario", "causes"),
    [
        ("nominal", []),
        ("rse-outage+held-jobs", ["rse-down", "site-holding-jobs"]),
        ("uplink-down+buffer-full", ["uplink-down", "purge-stopped"]),
        ("tape-checksum", ["tape-restore-failing"]),
    ],
)
def test_report_json_diagnosis(capsys, scenario, causes):
    data = report_json(capsys, "--scenario", scenario)
    assert [c["cause"] for c in data["diagnosis"]] == causes
    keys = {a["key"] for a in data["alarms"]}
    for cause in data["diagnosis"]:
        assert set(cause) == {"cause", "title", "evidence", "consequence", "action", "explains"}
        assert cause["evidence"] and all(isinstance(line, str) for line in cause["evidence"])
        assert cause["explains"] and set(cause["explains"]) <= keys
    # Every alarm of these scenarios is explained by a cause.
    assert {k for c in data["diagnosis"] for k in c["explains"]} == keys
    if scenario == "rse-outage+held-jobs":
        assert data["diagnosis"][0]["explains"] == [
            "rse.NIKHEF_USERDISK.unavailable",
            "rse.NIKHEF_USERDISK.stuck",
        ]


def test_check_lines_name_the_problem(capsys):
    main(["--scenario", "buffer-full", "check", *SEEDED])  # options before the subcommand
    out = capsys.readouterr().out
    assert out.startswith(
        "XENON CRITICAL - buffer purge not running: 48.2 TB could be freed (cause of 2 alarms) | "
        "buffer_fill=96.4%;80;90;0;100 "
    )
    main(["check", "--scenario", "nominal", *SEEDED])
    assert capsys.readouterr().out == (
        "XENON OK - buffer 29.4 % full, 397 rules, 46 jobs running, 720 runs | "
        "buffer_fill=29.4%;80;90;0;100 buffer_free=35311873429450B;;;0;50000000000000 "
        "buffer_time_to_full=74631991s;259200:;86400:;0 rules_stuck=0 "
        "rules_stuck_age=0s;21600;86400;0 tape_failed=0;0;9 jobs_held=0;0;99 dags_stalled=0;0 "
        "runs=720 runs_unsafe=0;0;49 tape_checksum_failed=0;0;4 rucio_checksum_failed=0;0;4\n"
    )


def test_report_json_nominal_numbers(capsys):
    data = report_json(capsys)
    assert data["now"] == "2017-11-15T12:00:00+00:00"
    assert data["status"] == "OK" and data["alarms"] == []
    buffer = data["buffer"]
    assert (buffer["source"], buffer["taken_at"], buffer["error"]) == (
        "simulator",
        "2017-11-15T12:00:00+00:00",
        None,
    )
    assert buffer["used_bytes"] == 14_688_126_570_550
    assert buffer["total_bytes"] == 50 * 10**12
    assert buffer["free_bytes"] == buffer["total_bytes"] - buffer["used_bytes"]
    assert buffer["fill_percent"] == 29.38
    assert buffer["uplink_up"] is True
    assert buffer["autonomy_days"] == pytest.approx(50.9, abs=0.05)
    transfers = data["transfers"]
    assert [r["name"] for r in transfers["rses"]] == [
        "LNGS_USERDISK",
        "UC_OSG_USERDISK",
        "NIKHEF_USERDISK",
        "SURFSARA_USERDISK",
        "CNAF_USERDISK",
        "CCIN2P3_USERDISK",
        "WEIZMANN_USERDISK",
    ]
    assert sum(sum(r["rules"].values()) for r in transfers["rses"]) == 397
    assert set(transfers["rses"][0]["rules"]) == {
        "OK",
        "REPLICATING",
        "STUCK",
        "SUSPENDED",
        "WAITING_APPROVAL",
        "INJECT",
    }
    assert transfers["stuck_rules"] == [] and transfers["stuck_total"] == 0
    tape = data["tape"]
    assert (tape["verified_runs"], tape["failed_recent"], tape["failed_uploads"]) == (718, 0, [])
    jobs = data["jobs"]
    assert jobs["totals"] == {
        "site": "all",
        "idle": 0,
        "running": 46,
        "held": 0,
        "transferring": 0,
        "completed": 743,
        "retried": 25,
    }
    assert sum(s["running"] for s in jobs["sites"]) == 46
    assert {"run", "done", "failed", "queued", "held", "total"} <= set(jobs["dags"][0])
    runs = data["runs"]
    assert (runs["count"], runs["unsafe_old"], runs["malformed"]) == (720, 0, 0)
    newest = runs["newest"]
    assert len(newest) == 20 and newest[0]["number"] == 14999
    assert [r["number"] for r in newest] == sorted((r["number"] for r in newest), reverse=True)
    assert set(newest[0]) >= {
        "number",
        "name",
        "source",
        "science_run",
        "start",
        "events",
        "size_bytes",
        "copies",
        "processing",
        "safe",
        "missing",
        "purge_allowed",
        "purge_reason",
    }
    # The run being written now: only on the buffer, nothing may be purged.
    assert (newest[0]["copies"], newest[0]["safe"], newest[0]["purge_allowed"]) == (
        "buf",
        False,
        False,
    )
    assert newest[1]["copies"] == "buf LN"
    assert all(r["safe"] and r["copies"] == "buf tape UC EU" for r in newest[2:])


def test_report_json_is_deterministic_and_honours_runs(capsys):
    first = report_json(capsys, "--runs", "40", "--scenario", "rse-outage")
    again = report_json(capsys, "--scenario", "rse-outage", "--runs", "40")
    assert first == again
    assert first["runs"]["count"] == 40


def test_report_json_failures_carry_backend_text(capsys):
    data = report_json(capsys, "--scenario", "tape-checksum")
    failed = data["tape"]["failed_uploads"]
    assert len(failed) == data["tape"]["failed_recent"] == 23
    assert failed[0]["message"].startswith("checksum mismatch after restore")
    data = report_json(capsys, "--scenario", "rse-outage")
    stuck = data["transfers"]["stuck_rules"]
    assert len(stuck) == 7 and {r["rse"] for r in stuck} == {"NIKHEF_USERDISK"}
    assert stuck[0]["stuck_hours"] >= stuck[-1]["stuck_hours"]
    assert {"id", "run", "rse", "error", "stuck_hours"} <= set(stuck[0])


def test_report_tables_for_the_simulator(capsys):
    assert main(["report", *SEEDED, "--scenario", "held-jobs"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "BUFFER from simulator",
        "TRANSFERS from simulator",
        "TAPE from simulator",
        "JOBS from simulator",
        "RUNS from simulator",
        "ALARMS (2)",
    ):
        assert heading in out
    assert "XENON computing chain CRITICAL" in out
    assert "\x1b[" not in out


def test_list_scenarios_and_unknown_scenario(capsys):
    assert main(["--list-scenarios"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == [
        "nominal",
        "uplink-down",
        "rse-outage",
        "tape-checksum",
        "held-jobs",
        "buffer-full",
        "rse-outage+held-jobs",
        "uplink-down+buffer-full",
        "eb-silent",
    ]
    assert main(["report", "--scenario", "bogus"]) == 2
    assert "[backends.simulator] unknown scenario 'bogus'" in one_error_line(capsys)
    assert main(["check", "--scenario", "bogus"]) == 3
    assert capsys.readouterr().out.startswith(
        "XENON UNKNOWN - config error: [backends.simulator] unknown scenario 'bogus'"
    )


def test_entry_point_check_nominal():
    done = run_entry_point("check", "--scenario", "nominal", *SEEDED)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("XENON OK - ")


def test_report_marks_a_purged_run_without_valid_copies() -> None:
    from datetime import UTC, datetime

    from backends.analysis.safety import DEFAULT_POLICY
    from backends.model import DataCopy, Run
    from console.render.runs import purge_cell

    def run(*copies: DataCopy) -> Run:
        at = datetime(2017, 11, 1, tzinfo=UTC)
        return Run(1, "r", at, at, "tpc", "LED", (), None, None, copies=copies)

    tape = DataCopy("raw", "tsm-server", "transferred", checksum="a")
    eu = DataCopy("raw", "rucio-catalogue", "transferred", rse="CNAF_USERDISK")
    assert purge_cell(run(tape, eu), DEFAULT_POLICY).plain == "purged"
    assert purge_cell(run(), DEFAULT_POLICY).plain == "no copy"
    lost = purge_cell(run(eu), DEFAULT_POLICY)
    assert lost.plain == "purged, no valid copy" and "red" in str(lost.style)


# ------------------------------------------------------------------ startup


def test_the_tui_imports_with_the_collector_off_and_runs_with_it_on(monkeypatch):
    """The screen's imports run with the garbage collector off (it walked
    their long-lived objects again and again: 40 ms of a first frame); the
    app runs with it on again and those objects frozen out of it."""
    import gc

    import console.app

    seen: dict[str, object] = {}
    real_backends = fetching.Backends

    def backends(config):
        seen["constructed with gc on"] = gc.isenabled()
        return real_backends(config)

    def run_app(config, sources, record=None):
        seen["running with gc on"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
        sources.close()
        return 0

    monkeypatch.setattr("console.cli._no_terminal", lambda: None)
    monkeypatch.setattr(fetching, "Backends", backends)
    monkeypatch.setattr(console.app, "run_app", run_app)
    try:
        assert main(["--speed", "0"]) == 0
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen["constructed with gc on"] is False
    assert seen["running with gc on"] is True
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000


def test_the_collector_is_on_again_when_the_backends_fail(monkeypatch, capsys):
    import gc

    def backends(config):
        raise fetching.BackendConfigError("simulator: no such thing")

    monkeypatch.setattr("console.cli._no_terminal", lambda: None)
    monkeypatch.setattr(fetching, "Backends", backends)
    try:
        assert main(["--speed", "0"]) == 2
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
    assert "no such thing" in capsys.readouterr().err
