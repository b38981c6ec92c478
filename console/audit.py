"""``xenon-console audit``: the data-safety verdict of every run of the history.

``report`` shows the newest runs; an audit has to cover all of them. One line
per run (JSON Lines, CSV or aligned text) is written as it is decided, so the
whole history costs no more memory than the runs snapshot itself, and the
verdicts are those of the runs pane (``analysis.safety``, the config's
``[rses]``). The exit status is for cron: 1 when a run whose copies are due
(ended more than ``unsafe_after_hours`` ago) does not meet the policy.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from backends.analysis.drilldown import builder_text
from backends.analysis.safety import (
    SafetyPolicy,
    copies_overdue,
    data_safety,
    is_science,
    purge_verdict,
    run_problems,
    verdict_word,
)
from backends.model import Run
from console.format import format_verdict
from console.safe_text import json_text, strip_controls

#: The fields of each line, in this order (CSV columns).
FIELDS = (
    "number",
    "name",
    "science",
    "policy_met",
    "missing",
    "purge_allowed",
    "reasons",
    "malformed",
    "overdue",
    "failed",
    "run_status",
    "event_builder",
    "rules",
)
FORMATS = ("text", "json", "csv")
#: Exit codes.
EXIT_OK = 0
EXIT_UNSAFE = 1
EXIT_UNREADABLE = 3


def audit_row(
    run: Run, policy: SafetyPolicy, overdue_before: datetime | None
) -> tuple[dict[str, Any], str]:
    """One run's line (the FIELDS), with the runs pane's word for its verdict."""
    safety = data_safety(run, policy)
    purge = purge_verdict(run, policy)
    overdue = copies_overdue(run, overdue_before)
    return {
        "number": run.number,
        "name": run.name,
        "science": is_science(run),
        "policy_met": safety.safe,
        "missing": list(safety.missing),
        "purge_allowed": purge.allowed,
        "reasons": [safety.reason, f"purge: {purge.reason}"],
        "malformed": list(run_problems(run, policy)),
        "overdue": overdue,
        "failed": list(safety.failed),
        #: XENONnT's run status and event builder state (None for XENON1T's).
        "run_status": run.status,
        "event_builder": builder_text(run),
        "rules": [*safety.rules, *purge.rules],
    }, verdict_word(safety, overdue)


@dataclass
class Tally:
    """What the audit found, for the summary and the exit status."""

    runs: int = 0
    unsafe: int = 0
    unsafe_overdue: int = 0
    failed: int = 0
    purge_allowed: int = 0
    malformed: int = 0

    def add(self, row: dict[str, Any], word: str) -> None:
        self.runs += 1
        if not row["policy_met"]:
            self.unsafe += 1
            self.unsafe_overdue += row["overdue"]
            self.failed += word == "fail"
        self.purge_allowed += row["purge_allowed"]
        self.malformed += bool(row["malformed"])

    @property
    def exit_code(self) -> int:
        """1 when an overdue run is unsafe, or any run has a copy that failed its
        checksum (a failure now, whatever the run's age)."""
        return EXIT_UNSAFE if self.unsafe_overdue or self.failed else EXIT_OK

    def summary(self) -> str:
        return (
            f"audit: {self.runs:,} runs; {self.runs - self.unsafe:,} meet the policy, "
            f"{self.unsafe:,} do not ({self.unsafe_overdue:,} overdue, {self.failed:,} "
            f"with a failed copy); {self.purge_allowed:,} may be purged from the buffer; "
            f"{self.malformed:,} malformed"
        )


def rows(
    runs: Iterator[Run] | Any,
    policy: SafetyPolicy,
    overdue_before: datetime | None,
    tally: Tally,
    *,
    unsafe_only: bool = False,
) -> Iterator[tuple[dict[str, Any], str]]:
    """Every run's row and word, newest last (the order of the history),
    counted in ``tally``."""
    for run in runs:
        row, word = audit_row(run, policy, overdue_before)
        tally.add(row, word)
        if unsafe_only and row["policy_met"]:
            continue
        yield row, word


#: A spreadsheet reads a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = strip_controls(value)  # one line: a newline shows as U+FFFD
    # Text from a document must not run as a formula when the CSV is opened.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _text_line(row: dict[str, Any], word: str) -> str:
    text, _ = format_verdict(word, row["missing"], row["failed"])
    purge = "purge ok" if row["purge_allowed"] else "no purge"
    reason = row["reasons"][0] if not row["policy_met"] else row["reasons"][1]
    mark = " (malformed)" if row["malformed"] else ""
    name = strip_controls(row["name"])[:16]
    return f"{row['number']:>7} {name:<16} {text:<18} {purge:<9} {strip_controls(reason)}{mark}"


def write(rows_: Iterator[tuple[dict[str, Any], str]], fmt: str, out: TextIO) -> None:
    """Write the rows as they come."""
    if fmt == "json":
        for row, _ in rows_:
            out.write(json_text(row) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for row, _ in rows_:
            writer.writerow([_csv_cell(row[name]) for name in FIELDS])
    else:
        for row, word in rows_:
            out.write(_text_line(row, word) + "\n")


def _silence(out: TextIO) -> None:
    """Point a closed pipe at /dev/null, so the interpreter's last flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file: nothing to flush
        pass


def run_audit(
    runs: Any,
    taken_at: datetime,
    policy: SafetyPolicy,
    unsafe_after_hours: float,
    fmt: str,
    *,
    unsafe_only: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Audit ``runs`` (a runs snapshot's sequence) and return the exit status.

    The summary goes to ``err`` when it is a terminal (so cron mails only the
    lines it asked for).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    tally = Tally()
    before = taken_at - timedelta(hours=unsafe_after_hours)
    try:
        write(rows(runs, policy, before, tally, unsafe_only=unsafe_only), fmt, out)
        out.flush()
    except BrokenPipeError:  # `audit | head`: the reader has all it wanted
        _silence(out)
        return tally.exit_code
    if err.isatty():
        print(tally.summary(), file=err)
    return tally.exit_code
