"""Human-readable figures for panes: the analysis' units, plus times and ages.

Numbers read the same on screen, in ``report`` and in alarm details because
they all come from ``backends.analysis.units``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from backends.analysis.units import format_age, format_bytes, format_duration, format_rate

__all__ = [
    "VERDICT_VIEW",
    "format_age",
    "format_bytes",
    "format_duration",
    "format_percent",
    "format_rate",
    "format_time",
    "format_verdict",
    "short_slot",
]

#: How each verdict word (``safety.verdict_word``) is shown: its text (with
#: the missing slots), its style, the words it adds to the runs filter's
#: search text, and its place in a sort. The runs pane and ``report`` use it.
VERDICT_VIEW: dict[str, tuple[str, str, str, float]] = {
    "safe": ("safe", "green", "safe", 0.0),
    "wait": ("wait: {}", "yellow", "unsafe wait", 1.0),
    "miss": ("MISS: {}", "bold red", "unsafe missing", 2.0),
    "fail": ("FAIL: {}", "bold red", "unsafe fail checksum", 3.0),
}
_SHORT_SLOT = {"UC_OSG_USERDISK": "UC", "European RSE": "EU", "tape": "tape"}


def short_slot(slot: str) -> str:
    """A requirement slot as the runs table writes it: UC, EU, tape."""
    return _SHORT_SLOT.get(slot, slot)


def format_verdict(
    word: str, missing: Sequence[str], failed: Sequence[str] = ()
) -> tuple[str, str]:
    """(text, style) of a verdict word and its missing slots: ``MISS: UC tape``;
    for a failure the failed slots, then any others missing: ``FAIL: tape +EU``."""
    shown, style, _, _ = VERDICT_VIEW[word]
    if word == "fail":
        others = [short_slot(m) for m in missing if m not in failed]
        slots = " ".join(short_slot(f) for f in failed)
        return shown.format(slots + (f" +{' '.join(others)}" if others else "")), style
    return shown.format(" ".join(short_slot(m) for m in missing)), style


def format_time(at: datetime | None, *, zone: bool = False) -> str:
    """UTC wall time of an event, to the minute; ``zone`` adds " UTC" (for a
    time on its own; a table says UTC once, in its column's title)."""
    if at is None:
        return "-"
    text = (
        at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        if at.tzinfo
        else at.strftime("%Y-%m-%d %H:%M")
    )
    return f"{text} UTC" if zone else text


def format_percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f}%"
