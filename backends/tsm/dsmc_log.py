"""Parser of the output of TSM's ``dsmc incremental``, fed a piece at a time.

The experiment's uploader ran ``dsmc incr`` once per run and upload and kept
what dsmc printed in a file. Those files are the tape's ground truth here, so
the parser reads exactly what dsmc writes: the session header (``Client
date/time``), ``Incremental backup of volume '...'``, the ``ANSnnnnX``
messages (E and S are errors, W warnings), the summary block (``Total number
of objects inspected/backed up/failed``, ``Total number of bytes
transferred``, ``Aggregate data transfer rate``, ``Elapsed processing
time``) and, when the uploader logged it, the return code line.

It is fed text as the file grows (``feed``) and can say at any moment what is
known so far (``result``), so a log still being written is read only once and
a log cut off mid-write is still understood as far as it goes. Numbers are
read as dsmc prints them in the C/US locale (``1,234.56``); its units are
binary (1 KB = 1024 bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from typing import Any

#: dsmc return codes.
RC_OK = 0
RC_SKIPPED = 4
RC_WARNINGS = 8
RC_ERRORS = 12
RC_MEANING = {
    RC_OK: "ok",
    RC_SKIPPED: "files skipped",
    RC_WARNINGS: "warnings",
    RC_ERRORS: "errors",
}

_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5}
_NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?)"

_CLIENT_TIME = re.compile(r"^\s*Client date/time:\s*(.+?)\s*$")
_VOLUME = re.compile(r"^\s*Incremental backup of volume '(.+)'\s*$")
_TOTAL = re.compile(
    r"^\s*Total number of (objects backed up|objects \w+|bytes \w+|retries):"
    r"\s*" + _NUMBER + r"\s*([KMGTP]?B)?\s*$"
)
_TRANSFER_TIME = re.compile(r"^\s*Data transfer time:\s*" + _NUMBER + r"\s*sec")
_RATE = re.compile(
    r"^\s*(Network|Aggregate) data transfer rate:\s*" + _NUMBER + r"\s*([KMGTP]?B)/sec"
)
_ELAPSED = re.compile(r"^\s*Elapsed processing time:\s*(\d+):(\d{2}):(\d{2})\s*$")
_ANS = re.compile(r"\b(ANS\d{4})([EWSI])\b\s*(.*)$")
_RETURN_CODE = re.compile(r"(?i)\breturn\s+code\b\s*(?:=|:|is|was)?\s*(-?\d+)")

_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S")
#: How many error and warning texts a summary keeps (the counts are exact).
KEEP_MESSAGES = 5


def to_number(text: str) -> float:
    return float(text.replace(",", ""))


_US_DATE = re.compile(r"(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d)$")


def parse_client_time(text: str, tz: tzinfo) -> datetime | None:
    if m := _US_DATE.match(text):  # dsmc's default, without strptime's cost
        month, day, year, hour, minute, second = (int(g) for g in m.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=tz)
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class DsmcSummary:
    """What one dsmc log says so far."""

    started_at: datetime | None = None
    volumes: tuple[str, ...] = ()
    objects_inspected: int | None = None
    objects_backed_up: int | None = None
    objects_failed: int | None = None
    bytes_inspected: int | None = None
    bytes_transferred: int | None = None
    transfer_time_seconds: float | None = None
    network_rate_bps: float | None = None
    aggregate_rate_bps: float | None = None
    elapsed_seconds: float | None = None
    #: The return code the uploader logged, if it did.
    logged_return_code: int | None = None
    errors: tuple[str, ...] = ()
    error_count: int = 0
    warnings: tuple[str, ...] = ()
    warning_count: int = 0
    #: Lines read (for "N lines so far" while a log is being written).
    lines: int = 0

    @property
    def complete(self) -> bool:
        """dsmc got to its summary's last line, or the uploader logged the rc."""
        return self.elapsed_seconds is not None or self.logged_return_code is not None

    @property
    def return_code(self) -> int | None:
        """The logged return code, else dsmc's own rule applied to what it printed.

        Errors (ANS...E/S or failed objects) give 12, warnings 8, else 0; None
        while the log is incomplete.
        """
        if self.logged_return_code is not None:
            return self.logged_return_code
        if not self.complete:
            return None
        if self.error_count or (self.objects_failed or 0) > 0:
            return RC_ERRORS
        if self.warning_count:
            return RC_WARNINGS
        return RC_OK


_FIELDS = tuple(f.name for f in fields(DsmcSummary))
_KEYS = {
    "objects inspected": "objects_inspected",
    "objects backed up": "objects_backed_up",
    "objects failed": "objects_failed",
    "bytes inspected": "bytes_inspected",
    "bytes transferred": "bytes_transferred",
}


class DsmcLogParser:
    """Accumulates a ``DsmcSummary`` from text fed in arbitrary pieces."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._state: dict[str, Any] = {name: getattr(_EMPTY, name) for name in _FIELDS}
        self._pending = ""

    @classmethod
    def resume(cls, summary: DsmcSummary, tz: tzinfo) -> DsmcLogParser:
        """A parser in the state of one that read a whole log ending in a
        newline and summed up as ``summary`` (from the index)."""
        parser = cls(tz)
        parser._state = {name: getattr(summary, name) for name in _FIELDS}
        return parser

    @property
    def idle(self) -> bool:
        """No unfinished line waits (what was fed ends with a newline)."""
        return not self._pending

    def feed(self, text: str) -> None:
        text = self._pending + text
        cut = text.rfind("\n") + 1
        body, self._pending = text[:cut], text[cut:]  # an unfinished line waits
        self._state["lines"] += body.count("\n")
        state, tz = self._state, self.tz
        for line in body.split("\n"):
            # Object lines ("Normal File-->", most of a log) change nothing;
            # skipping them here, before any regex, is what makes a poll fast.
            if line and "-->" not in line:
                _apply(state, line.rstrip("\r"), tz)

    def result(self) -> DsmcSummary:
        """What is known now, the unfinished last line included if it parses."""
        state = self._state
        if self._pending.strip() and "-->" not in self._pending:
            state = dict(state)
            state["lines"] += 1
            _apply(state, self._pending.rstrip("\r"), self.tz)
        return DsmcSummary(**state)


_EMPTY = DsmcSummary()


def _apply(s: dict[str, Any], line: str, tz: tzinfo) -> None:
    """Update the summary fields in ``s`` with what one line of output says.

    A cheap ``startswith`` picks the one regex a line can match: a poll of a
    full log directory runs this for every non-object line of every log.
    """
    text = line.lstrip()
    if not text:
        return
    if text.startswith("Total number of "):
        if (m := _TOTAL.match(line)) and (key := _KEYS.get(m.group(1))) is not None:
            number, unit = to_number(m.group(2)), m.group(3)
            s[key] = int(number * _UNITS[unit]) if key.startswith("bytes") and unit else int(number)
    elif text.startswith("Elapsed processing time"):
        if m := _ELAPSED.match(line):
            h, mi, se = (int(g) for g in m.groups())
            s["elapsed_seconds"] = float(h * 3600 + mi * 60 + se)
    elif text.startswith(("Network data", "Aggregate data")):
        if m := _RATE.match(line):
            key = "network_rate_bps" if m.group(1) == "Network" else "aggregate_rate_bps"
            s[key] = to_number(m.group(2)) * _UNITS[m.group(3)]
    elif text.startswith("Data transfer time"):
        if m := _TRANSFER_TIME.match(line):
            s["transfer_time_seconds"] = to_number(m.group(1))
    elif text.startswith("Incremental backup of volume"):
        if m := _VOLUME.match(line):
            s["volumes"] = (*s["volumes"], m.group(1))
    elif text.startswith("Client date/time"):
        if (m := _CLIENT_TIME.match(line)) and s["started_at"] is None:
            s["started_at"] = parse_client_time(m.group(1), tz)
    elif "ANS" in line and (m := _ANS.search(line)):
        _return_code(s, line)
        message = f"{m.group(1)}{m.group(2)} {m.group(3)}".strip()
        if m.group(2) in "ES":
            if len(s["errors"]) < KEEP_MESSAGES:
                s["errors"] = (*s["errors"], message)
            s["error_count"] += 1
        elif m.group(2) == "W":
            if len(s["warnings"]) < KEEP_MESSAGES:
                s["warnings"] = (*s["warnings"], message)
            s["warning_count"] += 1
    elif "eturn" in line or "ETURN" in line:
        _return_code(s, line)


def _return_code(s: dict[str, Any], line: str) -> None:
    if m := _RETURN_CODE.search(line):
        s["logged_return_code"] = int(m.group(1))
