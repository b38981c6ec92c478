"""XENON1T run documents <-> the domain model, in both directions.

The runs database was written by many tools over years (the DAQ, cax, ruciax,
the tape mover, people by hand), so ``document_to_run`` trusts nothing: every
field may be missing, of the wrong type or hold a value nobody expected. It
builds as much of the ``Run`` as it can and lists each oddity in
``Run.malformed``, so the console can show the run (in red) and count it
instead of losing it or failing the whole poll.

``run_to_document`` writes the same format, for ``sim export-mongo``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from itertools import groupby
from operator import attrgetter
from typing import Any

from backends.model import (
    HOST_RUCIO,
    HOST_TAPE,
    NON_RUCIO_HOSTS,
    CopyStatus,
    DataCopy,
    Run,
)

#: Top-level fields the console reads: the projection of every query. Whole
#: sub-documents rather than paths through arrays (``data.rse``), which some
#: servers answer wrongly and which would hide the wrong types we report.
PROJECTION: Mapping[str, int] = {
    "number": 1,
    "name": 1,
    "start": 1,
    "end": 1,
    "detector": 1,
    "source": 1,
    "tags": 1,
    "trigger": 1,
    "raw_size_byte": 1,
    "data": 1,
}

KNOWN_STATUSES = frozenset(s.value for s in CopyStatus if s is not CopyStatus.OTHER)
#: Placed first in time when a document has no usable start.
NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)
#: Rucio rule state written into ``rule_info`` for a copy's status (export).
_RULE_STATE = {
    CopyStatus.TRANSFERRED.value: "OK",
    CopyStatus.TRANSFERRING.value: "REPLICATING",
    CopyStatus.ERROR.value: "STUCK",
}


class _Notes:
    """Collects what is odd about one document, in words."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


def _kind(value: object) -> str:
    return type(value).__name__


def as_datetime(value: object) -> datetime | None:
    """A BSON date as an aware UTC datetime (drivers may hand out naive ones)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


def _time(doc: Mapping[str, Any], key: str, notes: _Notes, *, required: bool) -> datetime | None:
    value = doc.get(key)
    if value is None:
        if required:
            notes.add(f"no {key}")
        return None
    moment = as_datetime(value)
    if moment is not None:
        return moment
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            notes.add(f"{key} is a string, not a date")
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    notes.add(f"{key} is not a date ({_kind(value)})")
    return None


def _text(doc: Mapping[str, Any], key: str, notes: _Notes, default: str, where: str = "") -> str:
    value = doc.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        notes.add(f"no {where}{key}")
    else:
        notes.add(f"{where}{key} is not text ({_kind(value)})")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return default


def _count(value: object, what: str, notes: _Notes) -> int | None:
    """A non-negative whole number, or None (with a note when it was there but odd)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            return value
    elif isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    notes.add(f"{what} is not a count ({value!r})"[:120])
    return None


def run_number(value: object) -> int | None:
    """The run number as the server compares it, or None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _number(doc: Mapping[str, Any], notes: _Notes) -> int | None:
    value = doc.get("number")
    number = run_number(value)
    if number is not None:
        if not isinstance(value, int):
            notes.add(f"number is a {_kind(value)}")
        return number
    if isinstance(value, str) and value.strip().isdecimal():
        try:
            number = int(value.strip())
        except ValueError:  # decimal digits int() refuses: not a run number
            number = None
        if number is not None:
            notes.add("number is text")
            return number
    notes.add("no run number" if value is None else f"number is not a number ({value!r})"[:120])
    return None


def _source(doc: Mapping[str, Any], notes: _Notes) -> str:
    value = doc.get("source")
    if isinstance(value, Mapping):
        return _text(value, "type", notes, "unknown", "source.")
    if isinstance(value, str):
        notes.add("source is text, not {type: ...}")
        return value
    notes.add("no source" if value is None else f"source is not a document ({_kind(value)})")
    return "unknown"


def _tags(doc: Mapping[str, Any], notes: _Notes) -> tuple[str, ...]:
    value = doc.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        notes.add("tags is text, not a list")
        return (value,)
    if not isinstance(value, list):
        notes.add(f"tags is not a list ({_kind(value)})")
        return ()
    names: list[str] = []
    for tag in value:
        name = tag.get("name") if isinstance(tag, Mapping) else tag
        if isinstance(name, str):
            if not isinstance(tag, Mapping):
                notes.add("tag is text, not {name: ...}")
            names.append(name)
        else:
            notes.add(f"tag without a name ({_kind(tag)})")
    return tuple(names)


def _events(doc: Mapping[str, Any], notes: _Notes) -> int | None:
    trigger = doc.get("trigger")
    if trigger is None:
        return None
    if not isinstance(trigger, Mapping):
        notes.add(f"trigger is not a document ({_kind(trigger)})")
        return None
    return _count(trigger.get("events_built"), "trigger.events_built", notes)


def _rses(value: object, notes: _Notes) -> tuple[list[str | None], str | None]:
    """``rse`` is one name, or (as ruciax wrote it) a list of the RSEs holding
    the copy. Returns the names and, when the value was odd, what was odd:
    every copy made of an odd value carries that problem and never counts."""
    if value is None:
        return [None], None
    if isinstance(value, str):
        return [value or None], None
    if isinstance(value, list):
        names = [v for v in value if isinstance(v, str) and v]
        if len(names) != len(value):
            problem = "rse list holds something that is not an RSE name"
            notes.add(problem)
            return list(names) or [None], problem
        return list(names) or [None], None
    problem = f"rse is not a name ({_kind(value)})"
    notes.add(problem)
    return [None], problem


def _clean_copy(entry: dict[str, Any]) -> DataCopy | None:
    """The copy of a ``data`` entry with nothing odd about it, else None.

    The common case, checked with exact types and no notes: a full read of
    30,000 runs spends most of its Python time here.
    """
    kind = entry.get("type")
    host = entry.get("host")
    status = entry.get("status")
    location = entry.get("location", "")
    checksum = entry.get("checksum")
    created = entry.get("creation_time")
    problem = entry.get("checksumproblem", False)
    if (
        type(kind) is not str
        or type(host) is not str
        or type(status) is not str
        or status not in KNOWN_STATUSES
        or type(location) is not str
        or (checksum is not None and type(checksum) is not str)
        or (created is not None and type(created) is not datetime)
        or type(problem) is not bool
    ):
        return None
    rse = entry.get("rse")
    if host in NON_RUCIO_HOSTS:
        rse = None  # an RSE means nothing on the buffer, tape or RCC
    elif rse is not None:
        if type(rse) is list and host == HOST_RUCIO and len(rse) == 1:
            rse = rse[0]
        if type(rse) is not str or not rse:
            return None
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return DataCopy(kind, host, status, location, checksum, rse, created, problem)


def _checksum_problem(entry: Mapping[str, Any], where: str, notes: _Notes) -> bool:
    """Whether a checksum problem is recorded: anything but an absent key or
    ``false`` counts (``null``, ``0``, ``"false"`` are not plainly false)."""
    if "checksumproblem" not in entry:
        return False
    value = entry["checksumproblem"]
    if isinstance(value, bool):
        return value
    notes.add(
        f"{where}checksumproblem is not true/false ({value!r}), so it counts as a problem"[:160]
    )
    return True


def _odd_copy(entry: Mapping[str, Any], index: int, notes: _Notes) -> list[DataCopy]:
    """The copies of a ``data`` entry with something odd about it.

    Every oddity goes to the run's notes and to the copy's own ``problems``
    (a copy with problems never counts), except an unknown status, which
    the status rule itself rejects.
    """
    where = f"data[{index}]."
    mine = _Notes()
    # A missing or odd type, host or status is noted for the run only: the
    # rules of a valid copy reject it by itself ("has no status").
    kind = _text(entry, "type", notes, "", where)
    host = _text(entry, "host", notes, "", where)
    status = _text(entry, "status", notes, "", where)
    checksum = entry.get("checksum")
    if checksum is not None and not isinstance(checksum, str):
        mine.add(f"{where}checksum is not text ({_kind(checksum)})")
        checksum = str(checksum)
    problem = _checksum_problem(entry, where, notes)
    location = entry.get("location", "")
    if not isinstance(location, str):
        mine.add(f"{where}location is not text ({_kind(location)})")
        location = str(location)
    created = entry.get("creation_time")
    created_at = as_datetime(created)
    if created is not None and created_at is None:
        mine.add(f"{where}creation_time is not a date ({_kind(created)})")
    if status and status not in KNOWN_STATUSES:
        notes.add(f"unknown status {status!r} of a copy on {host or '?'}"[:120])
    raw_rse = entry.get("rse")
    if host == HOST_RUCIO or (raw_rse is not None and host not in NON_RUCIO_HOSTS):
        rses, odd = _rses(raw_rse, notes)
        if odd is not None:
            mine.add(odd)
    else:
        rses = [None]  # an RSE means nothing on the buffer, tape or RCC
    problems = tuple(mine.items)
    for note in problems:
        notes.add(note)
    return [
        DataCopy(kind, host, status, location, checksum, rse, created_at, problem, problems)
        for rse in rses
    ]


def _copies(doc: Mapping[str, Any], notes: _Notes) -> tuple[DataCopy, ...]:
    value = doc.get("data")
    if value is None:
        notes.add("no data list")
        return ()
    if not isinstance(value, list):
        notes.add(f"data is not a list ({_kind(value)})")
        return ()
    copies: list[DataCopy] = []
    for index, entry in enumerate(value):
        fast = _clean_copy(entry) if type(entry) is dict else None
        if fast is not None:
            copies.append(fast)
        elif not isinstance(entry, Mapping):
            notes.add(f"data[{index}] is not a document ({_kind(entry)})")
        else:
            copies.extend(_odd_copy(entry, index, notes))
    return tuple(copies)


def join_twins(runs: Iterable[Run]) -> list[Run]:
    """Runs in number order with the documents that share a number made one run.

    The first document read stands for the run; the others travel in its
    ``twins`` (so the verdict can be the worst of them, and the drill-down
    can list them all) and it is marked malformed. ``runs`` must be sorted
    by number.
    """
    out: list[Run] = []
    for number, group in groupby(runs, key=_by_number):
        first, *others = group
        rest = tuple(others)
        if rest:
            note = f"{len(rest) + 1} documents with number {number}"
            first = replace(first, malformed=(note, *first.malformed), twins=rest)
        out.append(first)
    return out


_by_number = attrgetter("number")


def document_to_run(doc: Mapping[str, Any], fallback_number: int = -1) -> Run:
    """A ``Run`` from whatever the document holds; oddities go to ``malformed``.

    A document without a usable run number gets ``fallback_number`` (the
    caller picks one that cannot collide: negative) so it is still shown.
    """
    notes = _Notes()
    number = _number(doc, notes)
    if number is None:
        ident = doc.get("_id")
        if ident is not None:
            notes.add(f"document _id {str(ident)[:40]}")
        number = fallback_number
    name = _text(doc, "name", notes, str(number))
    start = _time(doc, "start", notes, required=True) or NO_TIME
    end = _time(doc, "end", notes, required=False)
    detector = _text(doc, "detector", notes, "unknown")
    return Run(
        number=number,
        name=name,
        start=start,
        end=end,
        detector=detector,
        source=_source(doc, notes),
        tags=_tags(doc, notes),
        events=_events(doc, notes),
        raw_size_bytes=_count(doc.get("raw_size_byte"), "raw_size_byte", notes),
        copies=_copies(doc, notes),
        malformed=tuple(notes.items),
    )


# ------------------------------------------------------------------ writing


def copy_to_entry(copy: DataCopy) -> dict[str, Any]:
    """One ``data`` entry as XENON1T's tools wrote it."""
    entry: dict[str, Any] = {
        "type": copy.type,
        "host": copy.host,
        "status": copy.status,
        "location": copy.location,
        "checksum": copy.checksum,
    }
    if copy.creation_time is not None:
        entry["creation_time"] = copy.creation_time
    if copy.host == HOST_RUCIO:
        entry["rse"] = [copy.rse] if copy.rse else []
        state = _RULE_STATE.get(copy.status, "REPLICATING")
        entry["rule_info"] = f"{copy.rse}:{state}" if copy.rse else "no_rule"
    if copy.host == HOST_TAPE or copy.checksum_problem:
        entry["checksumproblem"] = copy.checksum_problem
    return entry


def run_to_document(run: Run, user: str = "xenon-console") -> dict[str, Any]:
    """A run document in the XENON1T format (``runs_new``); ``_id`` left to the server."""
    doc: dict[str, Any] = {
        "number": run.number,
        "name": run.name,
        "detector": run.detector,
        "start": run.start,
        "source": {"type": run.source},
        "tags": [{"name": tag, "user": user, "date": run.start} for tag in run.tags],
        "trigger": {"events_built": run.events} if run.events is not None else {},
        "data": [copy_to_entry(c) for c in run.copies],
    }
    if run.end is not None:
        doc["end"] = run.end
    if run.raw_size_bytes is not None:
        doc["raw_size_byte"] = run.raw_size_bytes
    return doc
