"""What the backend remembers of the runs collection between polls.

A runs database holds tens of thousands of runs, of which only the last few
days' still change (copies being made, tape, processing). So a poll after the
first reads only the *tail*: every document whose ``number`` is at least the
number of the oldest recent run. The tail read replaces the cached runs from
that number on (which also drops runs deleted there), and the rest of the
history is kept as it was. A periodic full read (``full_every``) catches
changes to older runs, such as a late purge from the buffer, and deletions.

Documents that share a number are shown as one run (``documents.join_twins``).

Documents whose ``number`` the server cannot compare as a number (text,
missing) never match the tail filter, so they are kept apart and refreshed by
full reads only; they are shown with a negative number, never dropped.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from operator import attrgetter
from typing import Any

from backends.model import Run
from backends.mongo.documents import join_twins

_by_number = attrgetter("number")


class RunsCache:
    """Runs sorted by number: those from numeric documents and the odd ones apart."""

    def __init__(self) -> None:
        self._runs: list[Run] = []
        self._numbers: list[int] = []
        self._odd: list[Run] = []
        self._view: tuple[Run, ...] = ()
        self.loaded = False

    def load_full(self, numeric: Iterable[Run], odd: Iterable[Run]) -> None:
        """Replace everything with a full read of the collection."""
        self._runs = sorted(numeric, key=_by_number)
        self._numbers = [r.number for r in self._runs]
        self._odd = sorted(odd, key=_by_number)
        self.loaded = True
        self._rebuild()

    def load_tail(self, floor: int, numeric: Iterable[Run]) -> None:
        """Replace every numeric run with ``number >= floor`` by a fresh read of them."""
        keep = bisect.bisect_left(self._numbers, floor)
        tail = sorted(numeric, key=_by_number)
        self._runs[keep:] = tail
        self._numbers[keep:] = [r.number for r in tail]
        self._rebuild()

    def _rebuild(self) -> None:
        # Documents that share a number (two numeric ones, or a numeric one
        # and one whose number is text) become one run with twins.
        if self._odd:
            self._view = tuple(join_twins(heapq.merge(self._runs, self._odd, key=_by_number)))
        else:
            self._view = tuple(join_twins(self._runs))

    @property
    def runs(self) -> tuple[Run, ...]:
        """Every run, ordered by number (an immutable copy: safe to hand out)."""
        return self._view

    def tail_floor(self, recent: timedelta) -> int:
        """The lowest run number a tail read must cover.

        Walks back from the newest run while runs started within ``recent`` of
        the newest start (the database's own clock, so a copy of an old
        database behaves like a live one), and stops at the first older run.
        Runs newer than any cached are covered too (``number > newest``).
        """
        runs = self._runs
        if not runs:
            return 0
        newest = max(r.start for r in runs[-64:])
        cutoff = newest - recent
        floor = runs[-1].number + 1
        for run in reversed(runs):
            if run.start < cutoff:
                break
            floor = run.number
        return floor


class Converted:
    """The run of each document already converted, by a digest of the document.

    A full read of the collection returns every document again, almost all of
    them unchanged since the last read: converting each anew costs about
    50 µs a document (13 s of CPU a full read at 267,620 runs) and gives new
    objects, whose verdicts the console must then derive anew. A document
    whose digest (BLAKE2b, 128 bits, of its ``repr``: every field and value,
    in the server's order) was seen before gets the run of last time, the
    same object. Anything else, a reordered document included, is converted.

    A full read keeps the digests of what it read and forgets the rest (runs
    deleted or changed); a tail read adds to them.
    """

    def __init__(self) -> None:
        self._runs: dict[bytes, Run] = {}
        self._reading: dict[bytes, Run] = {}
        #: Documents converted (new or changed) in the current read.
        self.fresh = 0

    def full_read(self) -> Converted:
        self._reading = {}
        self.fresh = 0
        return self

    def tail_read(self) -> Converted:
        self._reading = self._runs
        self.fresh = 0
        return self

    def run(self, doc: Mapping[str, Any], convert: Callable[[Mapping[str, Any], int], Run]) -> Run:
        try:
            digest = hashlib.blake2b(
                repr(doc).encode("utf-8", "backslashreplace"), digest_size=16
            ).digest()
        except Exception:  # a value whose repr fails: convert, remember nothing
            self.fresh += 1
            return convert(doc, -1)
        run = self._runs.get(digest) or self._reading.get(digest)
        if run is None:
            run = convert(doc, -1)
            self.fresh += 1
        self._reading[digest] = run
        return run

    def done(self) -> None:
        """The read is complete: what it kept is what the next one compares to."""
        self._runs = self._reading
