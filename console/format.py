"""Human-readable figures for panes: the analysis' units, plus times and ages.

Numbers read the same on screen, in ``report`` and in alarm details because
they all come from ``backends.analysis.units``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backends.analysis.units import format_bytes as fmt_bytes
from backends.analysis.units import format_duration
from backends.analysis.units import format_rate as fmt_rate

__all__ = ["fmt_bytes", "fmt_duration", "fmt_percent", "fmt_rate", "fmt_time"]


def fmt_duration(delta: timedelta | float | None) -> str:
    """A duration given as a timedelta or as seconds."""
    if delta is None or isinstance(delta, timedelta):
        return format_duration(delta)
    return format_duration(timedelta(seconds=delta))


def fmt_time(at: datetime | None) -> str:
    """UTC wall time of an event, to the minute."""
    if at is None:
        return "-"
    return at.strftime("%Y-%m-%d %H:%M")


def fmt_percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f}%"
