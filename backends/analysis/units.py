"""Human-readable numbers for alarm details and reports.

Kept beside the analysis because alarm texts are built here; the UI may use
the same helpers so a number reads the same everywhere.
"""

from __future__ import annotations

from datetime import timedelta

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(n: float | None) -> str:
    """Decimal units, as storage people and the paper count (1 TB = 10**12 B)."""
    if n is None:
        return "-"
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in _BYTE_UNITS:
        if value < 1000 or unit == _BYTE_UNITS[-1]:
            if unit == "B":
                return f"{sign}{int(value)} B"
            return f"{sign}{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_rate(bps: float | None) -> str:
    if bps is None:
        return "-"
    return f"{format_bytes(bps)}/s"


def format_duration(td: timedelta | float | None) -> str:
    """Short and coarse: '45 s', '12 min', '5.2 h', '3.1 d' (a timedelta or seconds)."""
    if td is None:
        return "-"
    seconds = td.total_seconds() if isinstance(td, timedelta) else float(td)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    if seconds < 3600:
        return f"{sign}{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds / 86400:.1f} d"


def format_age(seconds: float) -> str:
    """The age of fresh data, in steps a shifter can read and a terminal need
    not redraw every second: '<10 s', '20 s' (10 s steps under a minute),
    then ``format_duration``. (Stale data says so, with its ``format_duration``.)"""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return "<10 s"
    if seconds < 60:
        return f"{int(seconds // 10) * 10} s"
    return format_duration(seconds)


def one_line(text: str) -> str:
    """Join a multi-line backend message into one line, content unchanged otherwise."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
