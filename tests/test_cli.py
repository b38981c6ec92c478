"""The command line: report, report --json, check, errors; and console.safe_text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console import collect
from console.cli import main
from console.safe_text import clean, escape_markup, redact_secrets
from tests.test_config import fake_factory

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(sys.executable).with_name("xenon-console")


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


# --------------------------------------------------------------- safe_text


def test_clean_strips_escape_sequences_and_controls():
    assert clean("a\x1b[31mred\x1b[0m b") == "ared b"
    assert clean("x\x1b]0;evil title\x07y") == "xy"
    assert clean("x\x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\y") == "xlinky"
    assert clean("x\x1bPdcs-payload\x1b\\y") == "xy"
    assert clean("x\x9b2Jy") == "xy"
    assert clean("tab\tnew\nline") == "tab\tnew\nline"
    assert clean("bell\x07 cr\r del\x7f nul\x00 c1\x85") == (
        "bell\ufffd cr\ufffd del\ufffd nul\ufffd c1\ufffd")
    assert clean("lone \x1b") == "lone "
    assert clean(42) == "42"
    assert clean("[bold]not markup[/]") == "[bold]not markup[/]"
    assert escape_markup("[bold]x\x1b[0m") == "\\[bold]x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mongodb://user:pw@host:27017/run", "mongodb://user:***@host:27017/run"),
        ("mongodb+srv://xe1t:p%40ss@cluster/db?authSource=admin",
         "mongodb+srv://xe1t:***@cluster/db?authSource=admin"),
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
    assert line == (f"xenon-console: error: {path}: [intervals] buffer must be a positive "
                    "number of seconds, got 'fast'")


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
    monkeypatch.setattr(collect, "create_backend", fake_factory)


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
        "ConnectionError: mongodb://xenon:***@db:27017 refused retry later")
    assert data["tape"]["queued"] is None and data["tape"]["failed_uploads"] == []
    assert data["alarms"] == [{
        "key": "source.tape.down", "severity": "UNKNOWN", "kind": "tape",
        "title": "tape source failing", "detail": data["tape"]["error"], "since": None,
        "hint": "check the backend's connection settings and the service it reads"}]
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
    assert out.startswith("XENON UNKNOWN - tape source failing | buffer_fill=50.0%;80;90;0;100")


def test_check_all_quiet_is_ok(tmp_path, capsys, fake_backends):
    assert main(["check", "--config", fake_config_file(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("XENON OK - buffer 50.0 % full, 0 rules, 0 jobs running, 0 runs | ")


# ------------------------------------------------------------- entry point


def run_entry_point(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRY_POINT), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)


def test_entry_point_version_and_usage_error():
    assert ENTRY_POINT.exists()
    done = run_entry_point("--version")
    assert done.returncode == 0 and done.stdout.startswith("xenon-console 0.")
    done = run_entry_point("report", "--seed", "abc")
    assert done.returncode == 2
    assert done.stderr == (
        "xenon-console: error: argument --seed: not a whole number: 'abc' "
        "(see xenon-console --help)\n")
