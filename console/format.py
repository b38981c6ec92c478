"""Human-readable figures for panes and reports: bytes, rates, durations, ages."""

from __future__ import annotations

from datetime import datetime, timedelta

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def fmt_bytes(n: float | None) -> str:
    """Decimal units, as storage sites quote them: 27.8 GB, 50.0 TB."""
    if n is None:
        return "-"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def fmt_rate(bps: float | None) -> str:
    return "-" if bps is None else f"{fmt_bytes(bps)}/s"


def fmt_duration(delta: timedelta | float | None) -> str:
    """Compact duration: 45s, 12m, 3h 20m, 4d 6h."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{sign}{h}h {m:02d}m"
    d, h = divmod(s // 3600, 24)
    return f"{sign}{d}d {h}h"


def fmt_time(at: datetime | None) -> str:
    """UTC wall time of an event, to the minute."""
    if at is None:
        return "-"
    return at.strftime("%Y-%m-%d %H:%M")


def fmt_percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f}%"
