"""The runs of a snapshot as a lazy sequence: settled runs are built on access,
not all at once, and only the recently used ones are kept.

With 267,620 runs, building every settled ``Run`` (and its ~4.5 ``DataCopy``
objects and ~6 datetimes) costs seconds and, kept, 370 MB, while the runs
pane only reads the rows on screen. ``LazyRuns`` stands for
``RunsSnapshot.runs``: ``len()`` is O(1), ``runs[i]`` builds settled run
``i`` when asked for it and keeps it in ``SettledRuns``, a store shared by
every snapshot of one simulator, which holds the ``KEPT`` most recently used
runs: a run on screen stays the same object from poll to poll.
``versions()`` tells what each run is without building it: a settled run is
a pure function of its ``RunSpec`` and of one bit, whether its raw data is
still on the buffer (the purge clears it, nothing else changes a settled
run), so the bit is its version (``analysis.run_index`` derives a run's
facts once per version). The dynamic runs of the last days are built
eagerly by ``Views`` and carried as a plain tuple (``tail``).

A snapshot carries a frozen copy of the bits: it keeps showing what it showed
when it was taken. Building the same run twice from two threads gives equal
objects and is harmless.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import overload

from backends.construct import positional_constructor
from backends.model import (
    CHICAGO_RSE,
    HOST_BUFFER,
    HOST_RCC,
    HOST_RUCIO,
    HOST_TAPE,
    CopyStatus,
    CopyType,
    DataCopy,
    Run,
)
from backends.simulator import settle
from backends.simulator.catalogue import RunSpec, run_name, scope_of
from backends.simulator.infrastructure import (
    BUFFER_LOCATION,
    MINITREES_LOCATION,
    PROCESSED_RCC_LOCATION,
    TAPE_LOCATION,
)
from backends.simulator.spec_columns import SpecColumns

__all__ = ["LazyRuns", "SettledRuns", "build_settled_run"]


_new_copy = positional_constructor(DataCopy)
_new_run = positional_constructor(Run)
_from_timestamp = datetime.fromtimestamp

_RAW = CopyType.RAW.value
_PROCESSED = CopyType.PROCESSED.value
_MINITREES = CopyType.MINITREES.value
_TRANSFERRED = CopyStatus.TRANSFERRED.value
_BUFFER_PRE, _, _BUFFER_POST = BUFFER_LOCATION.partition("{name}")
_TAPE_PRE, _, _TAPE_POST = TAPE_LOCATION.partition("{name}")
_RCC_PRE, _, _RCC_POST = PROCESSED_RCC_LOCATION.partition("{name}")
_MT_PRE, _, _MT_POST = MINITREES_LOCATION.partition("{name}")


def build_settled_run(spec: RunSpec, on_buffer: int) -> Run:
    """A run that went cleanly through the chain (times from ``settle``).

    The hot path of materializing a long history: one ``Run``, its 3-6
    ``DataCopy`` objects and their datetimes, nothing else."""
    name = run_name(spec.start)
    lngs_ok, tape_start, processed, minitrees = settle.document_times(spec)
    checksum = settle.checksum(spec)
    start = _from_timestamp(spec.start, UTC)
    location = scope_of(spec, name) + ":raw"
    created = _from_timestamp(lngs_ok, UTC)
    tape = _new_copy(
        _RAW,
        HOST_TAPE,
        _TRANSFERRED,
        _TAPE_PRE + name + _TAPE_POST,
        checksum,
        None,
        _from_timestamp(tape_start, UTC),
        False,
    )
    eu = _new_copy(_RAW, HOST_RUCIO, _TRANSFERRED, location, checksum, spec.eu_rse, created, False)
    if spec.science:
        chicago = _new_copy(
            _RAW, HOST_RUCIO, _TRANSFERRED, location, checksum, CHICAGO_RSE, created, False
        )
        copies: tuple[DataCopy, ...] = (chicago, eu, tape)
    else:
        copies = (eu, tape)
    if on_buffer:
        buffer = _new_copy(
            _RAW,
            HOST_BUFFER,
            _TRANSFERRED,
            _BUFFER_PRE + name + _BUFFER_POST,
            checksum,
            None,
            start,
            False,
        )
        copies = (buffer, *copies)
    if processed is not None and minitrees is not None:
        copies = (
            *copies,
            _new_copy(
                _PROCESSED,
                HOST_RCC,
                _TRANSFERRED,
                _RCC_PRE + name + _RCC_POST,
                None,
                None,
                _from_timestamp(processed, UTC),
                False,
            ),
            _new_copy(
                _MINITREES,
                HOST_RCC,
                _TRANSFERRED,
                _MT_PRE + name + _MT_POST,
                None,
                None,
                _from_timestamp(minitrees, UTC),
                False,
            ),
        )
    return _new_run(
        spec.number,
        name,
        start,
        _from_timestamp(spec.end, UTC),
        spec.detector,
        spec.source,
        spec.tags,
        spec.events,
        spec.size,
        copies,
        (),
    )


#: Settled runs kept built (the most recently used): a few screens and
#: drill-downs' worth; the rest are built again when asked for.
KEPT = 8192


class SettledRuns:
    """The settled history of one simulator and the runs built from it lately.

    Shared by every ``LazyRuns`` of that simulator: ``kept[(i, bit)]`` is run
    ``i`` built with its buffer copy (bit 1) or without it (bit 0), while it
    is among the ``KEPT`` most recently used.
    """

    __slots__ = ("_lock", "count", "kept", "specs")

    def __init__(self, specs: Sequence[RunSpec], count: int | None = None) -> None:
        #: The plan; only its first ``count`` runs are this store's (the
        #: settled ones, which never change; the plan grows past them).
        self.specs = specs
        self.count = len(specs) if count is None else count
        self.kept: OrderedDict[tuple[int, int], Run] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, index: int, on_buffer: int) -> Run:
        """Run ``index`` with this buffer bit: the one kept, else built now."""
        key = (index, on_buffer)
        with self._lock:
            run = self.kept.get(key)
            if run is not None:
                self.kept.move_to_end(key)
                return run
        run = build_settled_run(self.specs[index], on_buffer)
        with self._lock:
            kept = self.kept.setdefault(key, run)  # another thread's wins: one object
            self.kept.move_to_end(key)
            if len(self.kept) > KEPT:
                self.kept.popitem(last=False)
        return kept


class LazyRuns(Sequence[Run]):
    """Every run of a snapshot, by run number ascending; see the module doc.

    Immutable and safe to read from several threads. Indexing (negative too)
    builds the one run asked for (or returns it, recently used); slicing returns
    a tuple; iteration builds the settled runs in order. Equal to a ``LazyRuns`` or a tuple holding
    equal runs, and hashes like that tuple (hashing materializes every run).
    """

    __slots__ = ("_hash", "_len", "_on_buffer", "_settled", "_store", "_tail")

    def __init__(self, store: SettledRuns, on_buffer: bytes, tail: tuple[Run, ...]) -> None:
        if len(on_buffer) != store.count:
            raise ValueError("on_buffer needs one byte per settled run")
        self._store = store
        self._settled = store.count
        #: One byte per settled run: 1 while its raw data is on the buffer.
        self._on_buffer = on_buffer
        self._tail = tail
        self._len = store.count + len(tail)
        self._hash: int | None = None

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Run, ...]: ...

    def __getitem__(self, index: int | slice) -> Run | tuple[Run, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            settled = self._settled
            if step == 1 and start >= settled:
                return self._tail[start - settled : stop - settled]
            item = self._item
            return tuple([item(i) for i in range(start, stop, step)])
        i = operator.index(index)
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("runs index out of range")
        return self._item(i)

    def _item(self, i: int) -> Run:
        """Run ``i``, for ``0 <= i < len(self)``."""
        settled = self._settled
        if i >= settled:
            return self._tail[i - settled]
        return self._store.get(i, self._on_buffer[i])

    def __iter__(self) -> Iterator[Run]:
        get = self._store.get
        for i, bit in enumerate(self._on_buffer):
            yield get(i, bit)
        yield from self._tail

    def versions(self) -> Iterator[tuple[int, object]]:
        """(run number, version) of every run without building any: a settled
        run is a pure function of its spec and its buffer bit, so the bit is
        its version (``analysis.run_index``); a run of the tail is its own."""
        specs = self._store.specs
        numbers = specs.numbers if isinstance(specs, SpecColumns) else [s[0] for s in specs]
        for i, bit in enumerate(self._on_buffer):
            yield numbers[i], bit
        for run in self._tail:
            yield run.number, run

    def settled_versions(self) -> tuple[Sequence[int], bytes]:
        """(numbers, versions) of the settled runs: the buffer bits, a block
        of which a poll compares at once (``analysis.run_index``)."""
        specs = self._store.specs
        numbers = specs.numbers if isinstance(specs, SpecColumns) else [s[0] for s in specs]
        return numbers, self._on_buffer

    def tail_versions(self) -> Iterator[tuple[int, object]]:
        """(run number, run) of the runs after the settled ones."""
        for run in self._tail:
            yield run.number, run

    @property
    def source_key(self) -> object:
        """The store the versions are relative to."""
        return self._store

    def __reversed__(self) -> Iterator[Run]:
        yield from reversed(self._tail)
        item = self._item
        for i in range(self._settled - 1, -1, -1):
            yield item(i)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, LazyRuns):
            if self._len != other._len:
                return False
            if (
                self._store is other._store
                and self._on_buffer == other._on_buffer
                and self._tail == other._tail
            ):
                return True  # same runs, from the same store: no need to build them
        elif not isinstance(other, tuple):
            return NotImplemented
        elif len(other) != self._len:
            return False
        return all(a is b or a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        return f"<LazyRuns of {self._len} runs, {self._settled} settled>"
