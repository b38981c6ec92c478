"""What the console derives from every run, computed once per version of a run.

A poll of the runs database returns every run (267,620 for a long history),
almost all of them the same as last poll. ``RunIndex`` keeps the facts
derived from every run (the data-safety verdict, what is malformed, the
processing state, the copies label, the times and figures a sort needs, the
text a filter searches) and derives them anew only for runs that changed: a
new ``Run`` object, or for the simulator's lazy history a new *version*
(``versions()``, without building the run). The alarms, the malformed count,
the runs pane's filter and sort all read the same facts: one function
(``analysis.safety``) computes each verdict, once.

A ``RunTable`` is the result of one update, immutable, safe to read from any
thread while the next poll builds the next table. It keeps the facts in
columns, at about 120 bytes a run rather than the 520 of an object per run:
what many runs share (verdict, problems, processing, copies label, source,
science run: a few dozen distinct ``Judged``) once, by a code; the times and
figures in arrays; per run only its own words of the filter text. A
``RunFacts`` of one run is made when asked for (``table.fact(i)``, kept for
the rows asked for lately); the scans (filter, sort, alarms, counts) read the
columns.
"""

from __future__ import annotations

import gc
import itertools
import operator
import sys
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

from backends.analysis.rucio_evidence import Evidence, asks_elsewhere, did_number
from backends.analysis.safety import (
    DEFAULT_POLICY,
    ProcessingState,
    SafetyPolicy,
    SafetyVerdict,
    copies_label,
    data_safety,
    documents,
    has_checksum,
    processing_state,
    purge_verdict,
    run_problems,
    upload_waiting,
)
from backends.foreground import FOREGROUND
from backends.model import Dag, Run
from backends.sequences import MadeOnRead

__all__ = [
    "BIG",
    "NONE",
    "Judged",
    "RunFacts",
    "RunIndex",
    "RunTable",
    "Versioned",
    "run_facts",
    "tabled",
]

#: Stands for "none recorded" in the integer columns (events, size).
NONE = -(2**63)
#: Stands for a value beyond 64 bits (a source's garbage): ``RunTable.big``
#: has it exactly.
BIG = NONE + 1
#: Column numbers of the integer columns, for ``RunTable.big``.
NUMBER, EVENTS, SIZE = 0, 1, 2


def _fits(value: int) -> bool:
    return BIG < value < 2**63


@runtime_checkable
class Versioned(Protocol):
    """A runs sequence that can tell what each run is without building it."""

    def versions(self) -> Iterator[tuple[int, object]]:
        """(run number, version) of every run, in order. Two equal versions of
        one run number from one sequence's source are the same run."""
        ...

    @property
    def source_key(self) -> object:
        """What the versions are relative to (the simulator's history)."""
        ...


@runtime_checkable
class SettledVersioned(Versioned, Protocol):
    """A versioned runs sequence whose first runs are versioned by a byte
    each (the simulator's settled history: a run's buffer bit), so that a
    poll can compare them a block at a time rather than run by run."""

    def settled_versions(self) -> tuple[Sequence[int], bytes]:
        """(numbers, versions) of the first ``len(versions)`` runs: run
        ``i`` is number ``numbers[i]``, version ``versions[i]``."""
        ...

    def tail_versions(self) -> Iterator[tuple[int, object]]:
        """(run number, version) of the runs after them, in order."""
        ...


#: Settled runs compared at a time (their version bytes, old and new).
BLOCK = 256


@dataclass(frozen=True, slots=True)
class Judged:
    """What a run was judged to be, shared by every run judged the same."""

    verdict: SafetyVerdict
    #: What is malformed (``safety.run_problems``); empty when clean.
    problems: tuple[str, ...]
    processing: ProcessingState
    copies: str
    source: str
    science_run: str | None
    #: The lower-case words of the filter text these runs share.
    words: str
    #: May its raw data leave the LNGS buffer (``safety.purge_verdict``'s
    #: ``allowed``; its reason, which names RSEs, is not kept: it would part
    #: judgements that are otherwise one).
    purgeable: bool
    #: Its event builders' datasets waiting for admix's upload (XENONnT:
    #: ``eb_ready_to_upload``; 0 for XENON1T's documents).
    upload_waiting: int
    #: XENONnT: the event builder's trouble with the run, as the runs pane's
    #: processing cell says it (``builder_trouble``); "" when none.
    builder: str = ""


#: The event builder's states that the runs pane shows in place of the
#: processing state (each fits its 10 columns).
BUILDER_TROUBLE = {"failed": "EB failed", "abandoned": "abandoned"}


def builder_trouble(run: Run) -> str:
    """``EB failed`` or ``abandoned`` when a document's event builder state
    says so (XENONnT's ``bootstrax``), else ""."""
    for doc in documents(run):
        if doc.builder is not None and doc.builder.state in BUILDER_TROUBLE:
            return BUILDER_TROUBLE[doc.builder.state]
    return ""


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the console shows and judges of one run, derived once."""

    #: What the facts were derived from: the Run object, or its version.
    version: object
    number: int
    verdict: SafetyVerdict
    #: What is malformed (``safety.run_problems``); empty when clean.
    problems: tuple[str, ...]
    processing: ProcessingState
    #: The DAG the processing state was judged with (None: none known).
    dag: Dag | None
    copies: str
    #: Start of the run (POSIX seconds).
    start: float
    #: When its copies are due from: the earliest end (or start) of its
    #: documents (``safety.copies_overdue``), POSIX seconds.
    due: float
    #: The run's own end, else its start (an alarm's "since"), POSIX seconds.
    since: float
    source: str
    science_run: str | None
    events: int | None
    size: int | None
    #: Lower-case words a filter matches, without the verdict's (they depend
    #: on the time: a young run waits, an old one misses).
    search: str
    #: XENONnT: the event builder's trouble with the run ("" when none).
    builder: str = ""

    def overdue(self, before: float | None) -> bool:
        """Whether every copy should exist by now (``safety.copies_overdue``)."""
        return before is None or self.due <= before


#: Equal verdicts, judgements and labels share one object: 267,620 runs have
#: a few dozen distinct ones.
_shared: dict[object, object] = {}
_T = TypeVar("_T")


def _share(value: _T) -> _T:
    return _shared.setdefault(value, value)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class _Derived:
    """One run's facts as the columns keep them."""

    judged: Judged
    start: float
    due: float
    since: float
    events: int | None
    size: int | None
    #: The run's own words of the filter text (number, name, tags).
    words: str


#: Judgements by what they were judged from, per policy (see ``_shape``).
_judgements: dict[int, tuple[SafetyPolicy, dict[tuple[object, ...], Judged]]] = {}
#: Shapes remembered per policy at most (then forgotten, and learnt again).
SHAPES_KEPT = 65_536
_CHECKSUM_OK = object()


def _shape(run: Run) -> tuple[object, ...] | None:
    """Everything a judgement reads of a run, and nothing it does not.

    ``data_safety``, ``copies_label``, ``run_problems`` and
    ``processing_state`` read the tags, detector, source, the reader's notes,
    the event builder's state (XENONnT's; not its host, failures or retry
    time, which only the drill-down shows) and of each copy its type, host,
    status, checksum problem, RSE, problems, XENONnT's file count and what
    Rucio says of it, and whether its checksum is a checksum (its text only
    when it is not: a reason quotes it). Not a copy's DID: no verdict reads it
    (Rucio's word on it is in the copy, a malformed one in its problems), and
    every XENONnT run has its own, so with it no two runs would share a
    judgement. Two runs of one shape are judged alike, so a
    run of a known shape is not judged again; the times, the name and the
    number are the run's own (they are not part of a judgement). A run with
    twin documents (reasons name the number) or with a DAG is judged itself.
    """
    if run.twins:
        return None
    return (
        run.tags,
        run.detector,
        run.source,
        run.malformed,
        None if run.builder is None else run.builder.state,
        tuple(
            (
                c.type,
                c.host,
                c.status,
                _CHECKSUM_OK if has_checksum(c) else c.checksum,
                c.checksum_problem,
                c.rse,
                c.problems,
                c.file_count,
                c.rucio_state,
                c.rucio_files,
            )
            for c in run.copies
        ),
    )


def _judged(run: Run, dag: Dag | None, policy: SafetyPolicy) -> Judged:
    """The judgement of one run (remembered by its shape)."""
    shape = _shape(run) if dag is None else None
    if shape is None:
        return _judge(run, dag, policy)
    memo = _judgements.get(id(policy))
    if memo is None or memo[0] is not policy:
        memo = _judgements[id(policy)] = (policy, {})
    shapes = memo[1]
    try:
        judged = shapes.get(shape)
    except TypeError:  # something unhashable in a run (a backend's odd value)
        return _judge(run, dag, policy)
    if judged is None:
        judged = _judge(run, dag, policy)
        if len(shapes) >= SHAPES_KEPT:
            shapes.clear()
        shapes[shape] = judged
    return judged


def _judge(run: Run, dag: Dag | None, policy: SafetyPolicy) -> Judged:
    """Every verdict of one run, from ``analysis.safety``."""
    processing = processing_state(run, dag)
    copies = copies_label(run, policy)
    science_run = run.science_run
    builder = builder_trouble(run)
    return _share(
        Judged(
            verdict=_share(data_safety(run, policy)),
            problems=run_problems(run, policy),
            processing=processing,
            copies=copies,
            source=sys.intern(run.source),
            science_run=science_run,
            words=" ".join(
                [run.source, science_run or "nonscience", processing.value, copies, builder]
            )
            .lower()
            .rstrip(),
            purgeable=purge_verdict(run, policy).allowed,
            upload_waiting=upload_waiting(run, policy),
            builder=builder,
        )
    )


class Joined(NamedTuple):
    """A row's version when the facts were derived with Rucio's word
    (``Evidence``): the run's own version and what Rucio said of its copies.
    A row is derived anew when either changed."""

    base: object
    evidence: object


def _derive(
    run: Run, dag: Dag | None, policy: SafetyPolicy, evidence: Evidence | None = None
) -> _Derived:
    """The facts of one run: its judgement and its own times and words (with
    Rucio's word on its copies, given ``evidence``)."""
    judged = _judged(run if evidence is None else evidence.join(run), dag, policy)
    due = min((doc.end or doc.start).timestamp() for doc in documents(run))
    since = (run.end or run.start).timestamp()
    return _Derived(
        judged,
        run.start.timestamp(),
        due,
        due if since == due else since,
        run.events,
        run.raw_size_bytes,
        " ".join([str(run.number), run.name, *run.tags]).lower(),
    )


def _facts(version: object, number: int, dag: Dag | None, d: _Derived) -> RunFacts:
    """A ``RunFacts`` from a run's derived facts."""
    judged = d.judged
    return RunFacts(
        version=version,
        number=number,
        verdict=judged.verdict,
        problems=judged.problems,
        processing=judged.processing,
        dag=dag,
        copies=judged.copies,
        start=d.start,
        due=d.due,
        since=d.since,
        source=judged.source,
        science_run=judged.science_run,
        events=d.events,
        size=d.size,
        search=f"{d.words} {judged.words}",
        builder=judged.builder,
    )


def run_facts(
    run: Run,
    dag: Dag | None = None,
    policy: SafetyPolicy = DEFAULT_POLICY,
    version: object = None,
    evidence: Evidence | None = None,
) -> RunFacts:
    """The facts of one run (``version`` defaults to the run itself), with
    Rucio's word on its copies when ``evidence`` is given."""
    d = _derive(run, dag, policy, evidence)
    return _facts(run if version is None else version, run.number, dag, d)


#: Runs derived between two offers of the GIL (a first derivation of a long
#: history runs for seconds in a polling thread while the main thread draws
#: the screen and takes keys: offered the GIL, it need not wait out the 5 ms
#: switch interval each time it wants it back). Measured at 267,620 runs:
#: End/Home p90 100 -> 63 ms for a derivation 5 % longer (a lower switch
#: interval instead did less: 71-79 ms).
YIELD_EVERY = 32
#: Runs derived between two collections of the youngest generation. While a
#: long history is derived, the old versions of runs it replaces die by the
#: thousand, and each death lowers the collector's count of new objects: the
#: youngest generation grew to ~57,000 objects before a collection came, and
#: each such collection held the GIL for 20-70 ms (End/Home p90 at 267,620
#: runs 76-80 ms, with this 36-42 ms; the collector's time over the first 16 s
#: 0.7-1.3 s, with this 0.4 s).
COLLECT_EVERY = 1024

#: Serial numbers of tables (``RunTable.serial``), taken under an index's lock.
_serials = itertools.count(1)
#: Rows whose ``RunFacts`` a table keeps made (the rows on screen, a few times over).
FACTS_KEPT = 4096


class RunTable:
    """The facts of one snapshot's runs, in the snapshot's order, in columns."""

    __slots__ = (
        "_kept",
        "_malformed",
        "big",
        "codes",
        "dags",
        "derived",
        "dues",
        "events",
        "evidence",
        "judged",
        "numbers",
        "runs",
        "serial",
        "settled",
        "sinces",
        "sizes",
        "starts",
        "versions",
        "words",
    )

    def __init__(self, runs: Sequence[Run], judged: list[Judged]) -> None:
        self.runs = runs
        #: The judgements the codes stand for (the index's, append-only).
        self.judged = judged
        self.codes = array("I")
        self.numbers = array("q")
        self.starts = array("d")
        self.dues = array("d")
        self.sinces = array("d")
        self.events = array("q")
        self.sizes = array("q")
        self.words: list[str] = []
        self.versions: list[object] = []
        #: DAGs by row (the few runs that have one).
        self.dags: dict[int, Dag] = {}
        #: (column, row): the integers beyond 64 bits (``BIG`` in the column).
        self.big: dict[tuple[int, int], int] = {}
        #: Runs whose facts were derived anew for this table (not reused).
        self.derived = 0
        #: Rucio's word the facts were derived with (None: the runs as they are).
        self.evidence: Evidence | None = None
        #: The order in which tables were made (one count for every index): a
        #: table reaches its reader from the thread of the poll that made it,
        #: and the runs poll's (which computes the alarms after it) can arrive
        #: after a newer one the jobs poll made from it; the reader keeps the
        #: newest.
        self.serial = 0
        self._kept: dict[int, RunFacts] = {}
        self._malformed: int | None = None
        #: The version bytes of the settled runs it was made from (its first
        #: rows), when its runs have them (``SettledVersioned``).
        self.settled: bytes | None = None

    # ----------------------------------------------------------- building

    def _int(self, column: int, row: int, value: int | None) -> int:
        """What an integer column holds for ``value`` at ``row``."""
        if value is None:
            return NONE
        if _fits(value):
            self.big.pop((column, row), None)
            return value
        self.big[column, row] = value
        return BIG

    def int_at(self, column: int, row: int) -> int | None:
        """The number, events or size of ``row`` (None: none recorded)."""
        value = (self.numbers, self.events, self.sizes)[column][row]
        if value == NONE:
            return None
        return self.big[column, row] if value == BIG else value

    def _set_figures(self, row: int, d: _Derived) -> None:
        self.events[row] = self._int(EVENTS, row, d.events)
        self.sizes[row] = self._int(SIZE, row, d.size)

    def _append(
        self, number: int, version: object, dag: Dag | None, d: _Derived, code: int
    ) -> None:
        row = len(self.codes)
        self.codes.append(code)
        self.numbers.append(self._int(NUMBER, row, number))
        self.starts.append(d.start)
        self.dues.append(d.due)
        self.sinces.append(d.since)
        self.events.append(self._int(EVENTS, row, d.events))
        self.sizes.append(self._int(SIZE, row, d.size))
        self.words.append(d.words)
        self.versions.append(version)
        if dag is not None:
            self.dags[len(self.codes) - 1] = dag

    def _copy(self, other: RunTable, start: int, stop: int) -> None:
        """Rows ``start:stop`` of ``other``, as they are."""
        offset = len(self.codes) - start
        self.codes.extend(other.codes[start:stop])
        self.numbers.extend(other.numbers[start:stop])
        self.starts.extend(other.starts[start:stop])
        self.dues.extend(other.dues[start:stop])
        self.sinces.extend(other.sinces[start:stop])
        self.events.extend(other.events[start:stop])
        self.sizes.extend(other.sizes[start:stop])
        self.words.extend(other.words[start:stop])
        self.versions.extend(other.versions[start:stop])
        # The few rows with a DAG or a big number: by the shorter way round
        # (many short copies, as for a history that came in another order,
        # must not each walk every DAG).
        dags = other.dags
        if len(dags) <= stop - start:
            rows: Iterable[int] = (row for row in dags if start <= row < stop)
        else:
            rows = (row for row in range(start, stop) if row in dags)
        for row in rows:
            self.dags[row + offset] = dags[row]
        for (column, row), value in other.big.items():
            if start <= row < stop:
                self.big[column, row + offset] = value

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        # Short: a table is passed to workers, whose description is its repr
        # (spelled out it would list every run, 0.4 s at 26,762).
        return f"RunTable({len(self):,} runs, {self.derived:,} derived)"

    def newer_than(self, other: RunTable | None) -> bool:
        """Whether this table should replace ``other`` (of the same index)."""
        return other is None or self.serial >= other.serial

    def judged_at(self, i: int) -> Judged:
        return self.judged[self.codes[i]]

    def fact(self, i: int) -> RunFacts:
        """The facts of row ``i`` (negative counts from the end)."""
        if i < 0:
            i += len(self)
        kept = self._kept.get(i)
        if kept is None:
            if not 0 <= i < len(self):
                raise IndexError(i)
            kept = self._make(i)
            if len(self._kept) >= FACTS_KEPT:
                self._kept.clear()
            self._kept[i] = kept
        return kept

    def _make(self, i: int) -> RunFacts:
        """The ``RunFacts`` of row ``i``, made from the columns."""
        number = self.int_at(NUMBER, i)
        assert number is not None  # (a number column has no "none recorded")
        d = _Derived(
            self.judged[self.codes[i]],
            self.starts[i],
            self.dues[i],
            self.sinces[i],
            self.int_at(EVENTS, i),
            self.int_at(SIZE, i),
            self.words[i],
        )
        return _facts(self.versions[i], number, self.dags.get(i), d)

    @property
    def facts(self) -> _FactsView:
        """Every row's facts, each made when read (a scan: prefer the columns)."""
        return _FactsView(self)

    def index_of(self, number: int) -> int | None:
        """The row of run ``number`` (runs are in number order, else searched)."""
        if not _fits(number):
            return next((r for (c, r), v in self.big.items() if c == NUMBER and v == number), None)
        numbers = self.numbers
        i = bisect_left(numbers, number)
        if i < len(numbers) and numbers[i] == number:
            return i
        try:
            return numbers.index(number)  # out of number order (a source's garbage)
        except ValueError:
            return None

    def overdue(self, i: int, before: float | None) -> bool:
        """``RunFacts.overdue`` of row ``i``."""
        return before is None or self.dues[i] <= before

    @property
    def malformed(self) -> int:
        """Runs with something malformed (``safety.run_problems``)."""
        if self._malformed is None:
            bad = {c for c, j in enumerate(self.judged) if j.problems}
            self._malformed = sum(map(bad.__contains__, self.codes)) if bad else 0
        return self._malformed

    def unsafe(self) -> Iterator[tuple[int, RunFacts]]:
        """(index, facts) of every run not data-safe, in order."""
        unsafe = {c for c, j in enumerate(self.judged) if not j.verdict.safe}
        # (a scan in C: the runs poll's alarms read it at every poll)
        rows = itertools.compress(itertools.count(), map(unsafe.__contains__, self.codes))
        return ((i, self.fact(i)) for i in rows)

    def upload_backlog(self) -> int:
        """Event builders' datasets waiting for the upload, over every run."""
        waiting = {c: j.upload_waiting for c, j in enumerate(self.judged) if j.upload_waiting}
        return sum(waiting.get(c, 0) for c in self.codes) if waiting else 0

    def purge_safe(self) -> Iterator[int]:
        """The rows of every run whose raw data may leave the buffer, in order."""
        safe = {c for c, j in enumerate(self.judged) if j.purgeable}
        if not safe:
            return iter(())
        return itertools.compress(itertools.count(), map(safe.__contains__, self.codes))

    def newest(self) -> int | None:
        """The row of the run that started last (None: no runs)."""
        starts = self.starts
        if not starts:
            return None
        # The first of the latest, as max(range, key=...) finds it, in C; a
        # NaN is the latest only where it comes first (nothing is above it).
        latest = max(starts)
        return 0 if latest != latest else starts.index(latest)


class _FactsView(MadeOnRead[RunFacts]):
    """A table's rows as ``RunFacts``, made when read."""

    __slots__ = ("_table",)

    def __init__(self, table: RunTable) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def _item(self, i: int) -> RunFacts:
        return self._table.fact(i)

    def __iter__(self) -> Iterator[RunFacts]:
        # Made afresh, not kept: a scan must not push the rows on screen out.
        table = self._table
        return (table._make(i) for i in range(len(table)))


def versions_of(runs: Sequence[Run]) -> Iterable[tuple[int, object]]:
    """(run number, version) of every run: without building them when the
    sequence can tell (``Versioned``), else each run is its own version."""
    if isinstance(runs, Versioned):
        return runs.versions()
    return ((run.number, run) for run in runs)


class RunIndex:
    """The facts of the last table, reused from one poll to the next (see
    the module doc). ``update`` may be called from any thread; calls are
    serialized."""

    def __init__(
        self, policy: SafetyPolicy = DEFAULT_POLICY, evidence: Evidence | None = None
    ) -> None:
        """``evidence``: derive every run with Rucio's word on its copies
        (``with_evidence`` changes it); None: judge the runs as they are."""
        self.policy = policy
        self._evidence = evidence
        self._lock = threading.Lock()
        self._source: object = None
        self._dags: Mapping[int, Dag] = {}
        #: Every judgement met so far, by code (append-only: tables share it).
        self._judged: list[Judged] = []
        self._codes: dict[Judged, int] = {}
        self.last: RunTable | None = None
        #: Runs (by number) a copy of which asks Rucio about a DID not
        #: naming the run (``asks_elsewhere``): ``with_evidence`` keys them
        #: again whichever rules changed.
        self._elsewhere: set[int] = set()
        #: The evidence every row of ``last`` is keyed as (``with_evidence``
        #: leaves a table whose rows' word did not change as it is).
        self._keyed_with: Evidence | None = None

    def _code(self, judged: Judged) -> int:
        code = self._codes.get(judged)
        if code is None:
            code = self._codes[judged] = len(self._judged)
            self._judged.append(judged)
        return code

    def update(self, runs: Sequence[Run], dags: Mapping[int, Dag] | None = None) -> RunTable:
        """The table of ``runs``: facts reused for every run whose version and
        DAG are the ones they were derived from, derived anew for the others."""
        with self._lock:
            if dags is not None:
                self._dags = dags
            dags = self._dags
            source = runs.source_key if isinstance(runs, Versioned) else None
            old = self.last
            if source is not self._source:
                old = None  # versions of another history mean nothing here
                self._source = source
            if old is None:
                self._elsewhere = set()
            table = RunTable(runs, self._judged)
            policy = self.policy
            evidence = table.evidence = self._evidence
            where: dict[int, int] | None = None
            old_numbers = old.numbers if old is not None else array("q")
            old_versions = old.versions if old is not None else []
            old_dags = old.dags if old is not None else {}
            n_old = len(old_numbers)
            #: A run of rows of ``old`` to copy as they are: [first, last + 1).
            run_start = run_stop = -1
            if isinstance(runs, SettledVersioned):
                table.settled = runs.settled_versions()[1]
            for stop, i, number, version in _rows(runs, old, dags):
                if stop >= 0:  # rows i..stop, of old as they are
                    if i == run_stop:
                        run_stop = stop
                        continue
                    if run_start >= 0:
                        table._copy(old, run_start, run_stop)  # type: ignore[arg-type]
                    run_start, run_stop = i, stop
                    continue
                dag = dags.get(number)
                run: Run | None = None
                if evidence is not None:
                    run = version if isinstance(version, Run) else runs[i]
                    version = Joined(version, evidence.key(run))
                j = -1
                if old is not None:
                    if i < n_old and old_numbers[i] == number:
                        j = i
                    else:
                        if where is None:
                            where = {n: k for k, n in enumerate(old_numbers)}
                        j = where.get(number, -1)
                    if j >= 0:
                        was = old_versions[j]
                        if not (was is version or was == version) or old_dags.get(j) != dag:
                            j = -1
                if j >= 0:
                    if j == run_stop:
                        run_stop += 1
                        continue
                    if run_start >= 0:
                        table._copy(old, run_start, run_stop)  # type: ignore[arg-type]
                    run_start, run_stop = j, j + 1
                    continue
                if run_start >= 0:
                    table._copy(old, run_start, run_stop)  # type: ignore[arg-type]
                    run_start = run_stop = -1
                if run is None:
                    run = version if isinstance(version, Run) else runs[i]
                # (with or without evidence: ``with_evidence`` may bring some)
                if asks_elsewhere(run):
                    self._elsewhere.add(number)
                else:
                    self._elsewhere.discard(number)
                d = _derive(run, dag, policy, evidence)
                table._append(number, version, dag, d, self._code(d.judged))
                table.derived += 1
                if not table.derived % YIELD_EVERY:
                    # The screen's thread may have the GIL now, and waits
                    # for it while it answers a key.
                    FOREGROUND.offer()
                    if not table.derived % COLLECT_EVERY:
                        gc.collect(0)
            if run_start >= 0:
                table._copy(old, run_start, run_stop)  # type: ignore[arg-type]
            table.serial = next(_serials)
            self.last = table
            self._keyed_with = evidence
            return table

    def with_dags(self, dags: Mapping[int, Dag]) -> RunTable | None:
        """The last table with new DAGs (the jobs poll came back), or None
        when nothing was tabled yet or no run's DAG changed. Only the runs
        whose DAG changed are derived anew."""
        with self._lock:
            last, before = self.last, self._dags
            self._dags = dags
            if last is None or dags == before:
                return None
            changed = sorted(n for n in dags.keys() | before.keys() if dags.get(n) != before.get(n))
            rows = [(i, n) for n in changed if (i := last.index_of(n)) is not None]
            if not rows:
                return None
            table = self._rederived(last, rows, dags)
            table.derived = len(rows)
            return table

    def _rederived(
        self,
        last: RunTable,
        rows: Iterable[tuple[int, int]],
        dags: Mapping[int, Dag],
        keys: Mapping[int, object] | None = None,
    ) -> RunTable:
        """``last`` with these (row, run number) derived anew with the index's
        DAGs and evidence (``keys``: the rows' new evidence keys); the new
        last table (hold the lock)."""
        table = RunTable(last.runs, self._judged)
        table._copy(last, 0, len(last))
        table.settled = last.settled
        evidence = table.evidence = self._evidence
        for i, number in rows:
            dag = dags.get(number)
            version = last.versions[i]
            base = version.base if isinstance(version, Joined) else version
            run = base if isinstance(base, Run) else last.runs[i]
            if evidence is not None:
                key = keys[i] if keys is not None and i in keys else evidence.key(run)
                table.versions[i] = Joined(base, key)
            else:
                table.versions[i] = base
            d = _derive(run, dag, self.policy, evidence)
            table.codes[i] = self._code(d.judged)
            table.starts[i], table.dues[i], table.sinces[i] = d.start, d.due, d.since
            table._set_figures(i, d)
            table.words[i] = d.words
            if dag is None:
                table.dags.pop(i, None)
            else:
                table.dags[i] = dag
        table.serial = next(_serials)
        self.last = table
        return table

    def with_evidence(self, evidence: Evidence) -> RunTable | None:
        """The last table with Rucio's new word (the transfers poll came
        back), or None when nothing was tabled yet or no run's evidence
        changed. Only the runs whose evidence changed are derived anew."""
        with self._lock:
            self._evidence = evidence
            last = self.last
            if last is None:
                return None
            runs = last.runs
            keys: dict[int, object] = {}
            versions = last.versions
            for i in self._rekeyed(last, evidence):
                version = versions[i]
                base = version.base if isinstance(version, Joined) else version
                run = base if isinstance(base, Run) else runs[i]
                key = evidence.key(run)
                if not isinstance(version, Joined) or not (
                    version.evidence is key or version.evidence == key
                ):
                    keys[i] = key
            self._keyed_with = evidence
            if not keys:
                return None
            rows = [(i, last.int_at(NUMBER, i) or 0) for i in keys]
            table = self._rederived(last, rows, self._dags, keys)
            table.derived = len(rows)
            return table

    def _rekeyed(self, last: RunTable, evidence: Evidence) -> Iterable[int]:
        """The rows of ``last`` whose Rucio word may differ with ``evidence``:
        when it was made from the evidence ``last`` was derived with, only
        the runs its changed pairs' DIDs name and those asking about other
        DIDs (``asks_elsewhere``); else every row."""
        changed = evidence.changed_since(self._keyed_with)
        everything = range(len(last.versions))
        if changed is None:
            return everything
        numbers = set(self._elsewhere)
        for did, _rse in changed:
            number = did_number(did)
            if number is None:
                return everything  # only a run asking elsewhere asks it: keyed anyway
            numbers.add(number)
        table = last.numbers
        if any(map(operator.ge, table, itertools.islice(table, 1, None))):
            return everything  # numbers out of order or twice (a source's garbage)
        rows = (last.index_of(n) for n in numbers)
        return sorted(i for i in rows if i is not None)


def _rows(
    runs: Sequence[Run], old: RunTable | None, dags: Mapping[int, Dag]
) -> Iterator[tuple[int, int, int, object]]:
    """``(-1, i, number, version)`` for row ``i`` of ``runs``, or
    ``(stop, i, 0, None)`` for rows ``i..stop`` that ``old`` has as they are:
    settled runs of the same history whose version bytes are the same and
    that have no DAG, before or now. A poll of the simulator's 267,620 runs
    compared every run's version in Python (about 100 ms a poll); a block of
    equal bytes is one comparison."""
    settled = runs.settled_versions() if isinstance(runs, SettledVersioned) else None
    if settled is None or old is None or old.settled is None:
        for i, (number, version) in enumerate(versions_of(runs)):
            yield -1, i, number, version
        return
    numbers, bits = settled
    before = old.settled
    n = len(bits)
    if len(before) != n or len(old) < n:  # not the same history after all
        for i, (number, version) in enumerate(versions_of(runs)):
            yield -1, i, number, version
        return
    with_dag = sorted(
        {row for row in old.dags if row < n}
        | {row for number in dags if (row := old.index_of(number)) is not None and row < n}
    )
    i = 0
    while i < n:
        stop = min(i + BLOCK, n)
        k = bisect_left(with_dag, i)
        if bits[i:stop] == before[i:stop] and not (k < len(with_dag) and with_dag[k] < stop):
            yield stop, i, 0, None
        else:
            for row in range(i, stop):
                yield -1, row, numbers[row], bits[row]
        i = stop
    for row, (number, version) in enumerate(runs.tail_versions(), n):  # type: ignore[attr-defined]
        yield -1, row, number, version


_last_tabled: tuple[Sequence[Run], SafetyPolicy, RunTable] | None = None
_tabled_lock = threading.Lock()


def tabled(runs: Sequence[Run], policy: SafetyPolicy = DEFAULT_POLICY) -> RunTable:
    """The facts of ``runs`` (without DAGs), for one-shot readers (``report``,
    ``check``, ``audit``): the last table is kept, so the alarms, the counts
    and the listing of one report derive every run once."""
    global _last_tabled
    with _tabled_lock:
        last = _last_tabled
        if last is not None and last[0] is runs and last[1] == policy:
            return last[2]
    table = RunIndex(policy).update(runs)
    with _tabled_lock:
        _last_tabled = (runs, policy, table)
    return table
