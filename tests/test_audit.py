"""``xenon-console audit``: every run of the history, the runs pane's verdicts."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.analysis.safety import DEFAULT_POLICY
from backends.mongo.documents import document_to_run
from console.audit import FIELDS, run_audit
from console.cli import main
from console.panes.runs import RunsPane
from console.widgets.virtual_table import VirtualTable
from tests.simapp import simulator_app, wait_settled

ROOT = Path(__file__).resolve().parents[1]
FULL_HISTORY = 26_762  # the paper's runs


def audit_lines(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, list[dict]]:
    code = main(["audit", "--json", "--speed", "0", *args])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_audit_lists_every_run_with_the_fields_in_order(capsys: pytest.CaptureFixture) -> None:
    assert audit_lines(capsys)[0] == 0  # nominal: nothing overdue is unsafe, nothing failed
    code, lines = audit_lines(capsys, "--scenario", "tape-checksum")
    assert code == 1  # tape copies failed their checksum
    assert len(lines) == 720
    assert all(tuple(line) == FIELDS for line in lines)
    assert sum(line["failed"] == ["tape"] for line in lines) == 23
    assert [line["number"] for line in lines] == sorted(line["number"] for line in lines)
    unsafe = [line for line in lines if not line["policy_met"]]
    assert len(unsafe) == 25  # as report --json counts them
    failed = [line for line in unsafe if "tape copy has a checksum problem" in line["reasons"][0]]
    assert len(failed) == 23
    assert all(line["missing"] == ["tape"] and not line["purge_allowed"] for line in failed)

    code, only = audit_lines(capsys, "--scenario", "tape-checksum", "--unsafe-only")
    assert code == 1 and only == unsafe


def test_audit_csv_has_a_header_and_one_row_per_run(capsys: pytest.CaptureFixture) -> None:
    assert main(["audit", "--csv", "--speed", "0", "--runs", "50"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == FIELDS
    assert len(rows) == 51
    assert {row[3] for row in rows[1:]} <= {"true", "false"}


def test_audit_text_is_the_runs_pane_words(capsys: pytest.CaptureFixture) -> None:
    assert main(["audit", "--speed", "0", "--scenario", "tape-checksum", "--unsafe-only"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 25
    assert sum("FAIL: tape" in line for line in lines) == 23
    assert all(" no purge " in line for line in lines)


def test_report_json_says_how_many_runs_it_left_out(capsys: pytest.CaptureFixture) -> None:
    assert main(["report", "--json", "--speed", "0"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert len(runs["newest"]) == 20
    assert runs["left_out"] == runs["count"] - 20 == 700


def _run(number: int, name: str, *, checksumproblem: bool = False, end_hours: float = 1):
    start = datetime(2017, 11, 1, tzinfo=UTC)
    return document_to_run(
        {
            "number": number,
            "name": name,
            "start": start,
            "end": start + timedelta(hours=end_hours),
            "detector": "tpc",
            "source": {"type": "none"},
            "tags": [],
            "data": [
                {
                    "type": "raw",
                    "host": "tsm-server",
                    "status": "transferred",
                    "checksum": "a",
                    "checksumproblem": checksumproblem,
                },
                {
                    "type": "raw",
                    "host": "rucio-catalogue",
                    "status": "transferred",
                    "rse": ["CNAF_USERDISK"],
                },
            ],
        }
    )


HOSTILE = "171101_0000\x1b]0;owned\x07\x9b31m\u202egnp.exe\u2066\x85\x7f\nfake line"


def test_json_escapes_every_control_character_and_keeps_the_text() -> None:
    out = io.StringIO()
    runs = [_run(1, HOSTILE)]
    now = datetime(2017, 12, 1, tzinfo=UTC)
    assert run_audit(runs, now, DEFAULT_POLICY, 48, "json", out=out) == 0
    text = out.getvalue()
    assert text.count("\n") == 1  # one line per run: the name's newline is escaped
    for char in "\x1b\x07\x9b\u202e\u2066\x85\x7f":
        assert char not in text
    assert json.loads(text)["name"] == HOSTILE


def test_csv_and_text_carry_no_control_characters() -> None:
    now = datetime(2017, 12, 1, tzinfo=UTC)
    for fmt in ("csv", "text"):
        out = io.StringIO()
        run_audit([_run(1, HOSTILE)], now, DEFAULT_POLICY, 48, fmt, out=out)
        text = out.getvalue()
        for char in "\x1b\x07\x9b\u202e\u2066\x85\x7f":
            assert char not in text, (fmt, char)
        assert len(text.splitlines()) == (2 if fmt == "csv" else 1)


def test_exit_status_is_one_for_an_overdue_unsafe_run_or_any_failure() -> None:
    now = datetime(2017, 11, 10, tzinfo=UTC)
    young_failure = _run(1, "young", checksumproblem=True, end_hours=24 * 8.5)
    young_missing = replace(_run(4, "young", end_hours=24 * 8.5), copies=())
    old_missing = replace(_run(2, "old"), copies=())
    fine = _run(3, "fine")

    def audit(*runs) -> int:
        return run_audit(list(runs), now, DEFAULT_POLICY, 48, "json", out=io.StringIO())

    assert audit(fine, young_missing) == 0  # its copies are on their way
    assert audit(fine, old_missing) == 1
    assert audit(fine, young_failure) == 1  # a failed checksum is a failure now


def test_csv_cells_never_start_a_formula() -> None:
    out = io.StringIO()
    name = '=HYPERLINK("http://x")'
    run_audit(
        [_run(1, name)], datetime(2017, 12, 1, tzinfo=UTC), DEFAULT_POLICY, 48, "csv", out=out
    )
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[0] == "1" and row[1] == "'" + name


def test_lines_are_written_as_runs_are_decided() -> None:
    """Streamed: the first line is out before the last run is even built."""
    written: list[int] = []

    class Out(io.StringIO):
        def write(self, s: str) -> int:
            written.append(consumed[0])
            return super().write(s)

    consumed = [0]

    def runs():
        for number in range(1, 1001):
            consumed[0] = number
            yield _run(number, f"r{number}")

    run_audit(runs(), datetime(2017, 12, 1, tzinfo=UTC), DEFAULT_POLICY, 48, "json", out=Out())
    assert written[0] == 1 and len(written) == 1000


def test_a_closed_pipe_ends_the_audit_quietly() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m console.cli audit --json --speed 0 --runs 5000 | head -n 1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""


def test_unreadable_runs_are_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[backends.db]\ntype = "mongo"\nuri = "mongodb://127.0.0.1:9/run"\n'
        'server_selection_timeout = 0.5\n[panes]\nruns = "db"\n'
        "[timeouts]\nruns = 5\n"
    )
    assert main(["audit", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("xenon-console: error: audit: cannot read the runs from db: ")
    assert len(err.splitlines()) == 1


def test_audit_needs_only_the_runs_backend(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A broken backend of another pane does not stop the audit."""
    config = tmp_path / "config.toml"
    config.write_text('[backends.broken]\ntype = "prometheus"\n[panes]\nbuffer = "broken"\n')
    assert main(["report", "--config", str(config)]) == 2  # the report needs it
    capsys.readouterr()
    assert main(["audit", "--json", "--config", str(config), "--runs", "10"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 10


@pytest.mark.slow
async def test_audit_of_the_full_history_counts_what_the_runs_pane_shows(
    capsys: pytest.CaptureFixture,
) -> None:
    code, lines = audit_lines(capsys, "--scenario", "tape-checksum", "--runs", str(FULL_HISTORY))
    assert code == 1 and len(lines) == FULL_HISTORY
    unsafe = sum(not line["policy_met"] for line in lines)
    overdue = sum(not line["policy_met"] and line["overdue"] for line in lines)
    failed = sum(
        "checksum problem" in line["reasons"][0] and not line["policy_met"] for line in lines
    )
    assert unsafe > 0 and failed > 0

    app = simulator_app("tape-checksum", runs=FULL_HISTORY)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot, timeout=60)
        pane: RunsPane = app.runs_pane
        table = pane.query_one(VirtualTable)
        await pilot.press("5")
        for word, expected in (("unsafe", unsafe), ("missing", overdue), ("checksum", failed)):
            pane.set_filter(word)
            while pane.busy:  # filtered in a worker thread
                await pilot.pause(0.05)
            assert table.row_count == expected, word
