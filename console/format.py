"""Human-readable figures for panes: the analysis' units, plus times and ages.

Numbers read the same on screen, in ``report`` and in alarm details because
they all come from ``backends.analysis.units``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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
    "short_slots",
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
_SHORT_SLOT = {
    "UC_OSG_USERDISK": "UC",
    "European RSE": "EU",
    "tape": "tape",
    # admix's word for a copy out of LNGS
    "RSE outside LNGS": "abroad",
}
#: A slot of a policy with several data types: ``raw_records UC_OSG_USERDISK``.
_TYPED_SLOT = re.compile(r"([a-z][a-z0-9_]*) (\S.*)")
_USERDISK = "_USERDISK"


def short_slot(slot: str) -> str:
    """A requirement slot as the runs table writes it: UC, EU, tape, abroad
    (an RSE outside LNGS); another RSE without its ``_USERDISK`` (SURFSARA);
    a data type's slot with its type shortened (``raw_records
    UC_OSG_USERDISK``: ``rr UC``)."""
    typed = _TYPED_SLOT.fullmatch(slot)
    if typed is not None:
        return f"{_short_type(typed[1])} {short_slot(typed[2])}"
    short = _SHORT_SLOT.get(slot)
    if short is not None:
        return short
    return slot[: -len(_USERDISK)] if slot.endswith(_USERDISK) and slot != _USERDISK else slot


def _short_type(data_type: str) -> str:
    """``raw_records`` as ``rr``, ``raw_records_mv`` as ``rr_mv``; others as they are."""
    return (
        "rr" + data_type[len("raw_records") :] if data_type.startswith("raw_records") else data_type
    )


def short_slots(slots: Iterable[str]) -> str:
    """Slots as the runs table writes them, a data type said once for the
    slots of it that follow one another: ``rr UC SURFSARA``."""
    out: list[str] = []
    last_type = None
    for slot in slots:
        typed = _TYPED_SLOT.fullmatch(slot)
        if typed is None:
            out.append(short_slot(slot))
            last_type = None
            continue
        if typed[1] != last_type:
            out.append(_short_type(typed[1]))
            last_type = typed[1]
        out.append(short_slot(typed[2]))
    return " ".join(out)


def format_verdict(
    word: str, missing: Sequence[str], failed: Sequence[str] = ()
) -> tuple[str, str]:
    """(text, style) of a verdict word and its missing slots: ``MISS: UC tape``;
    for a failure the failed slots, then any others missing: ``FAIL: tape +EU``."""
    shown, style, _, _ = VERDICT_VIEW[word]
    if word == "fail":
        others = short_slots(m for m in missing if m not in failed)
        slots = short_slots(failed)
        return shown.format(slots + (f" +{others}" if others else "")), style
    return shown.format(short_slots(missing)), style


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
