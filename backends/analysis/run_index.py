"""What the console derives from every run, computed once per version of a run.

A poll of the runs database returns every run (267,620 for a long history),
almost all of them the same as last poll. ``RunIndex`` keeps, per run number,
the ``RunFacts`` derived from it (the data-safety verdict, what is malformed,
the processing state, the copies label, the times and figures a sort needs,
the text a filter searches) and recomputes them only for runs that changed:
a new ``Run`` object, or for the simulator's lazy history a new *version*
(``versions()``, without building the run). The alarms, the malformed count,
the runs pane's filter and sort all read the same facts: one function
(``analysis.safety``) computes each verdict, once.

A ``RunTable`` is the result of one update: the facts aligned with the
snapshot's runs, immutable, safe to read from any thread while the next poll
builds the next table.
"""

from __future__ import annotations

import itertools
import sys
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from backends.analysis.safety import (
    DEFAULT_POLICY,
    ProcessingState,
    SafetyPolicy,
    SafetyVerdict,
    copies_label,
    data_safety,
    documents,
    processing_state,
    run_problems,
)
from backends.model import Dag, Run

__all__ = ["RunFacts", "RunIndex", "RunTable", "Versioned", "run_facts", "tabled"]


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

    def overdue(self, before: float | None) -> bool:
        """Whether every copy should exist by now (``safety.copies_overdue``)."""
        return before is None or self.due <= before


#: Equal verdicts, sources and labels share one object: 267,620 runs have a
#: few dozen distinct verdicts.
_shared: dict[object, object] = {}
_T = TypeVar("_T")


def _share(value: _T) -> _T:
    return _shared.setdefault(value, value)  # type: ignore[return-value]


def run_facts(
    run: Run, dag: Dag | None = None, policy: SafetyPolicy = DEFAULT_POLICY, version: object = None
) -> RunFacts:
    """The facts of one run (``version`` defaults to the run itself)."""
    verdict = _share(data_safety(run, policy))
    processing = processing_state(run, dag)
    copies = _share(copies_label(run, policy))
    due = min((doc.end or doc.start).timestamp() for doc in documents(run))
    start = run.start.timestamp()
    science_run = run.science_run
    search = " ".join(
        [
            str(run.number),
            run.name,
            run.source,
            science_run or "nonscience",
            processing.value,
            copies,
            *run.tags,
        ]
    ).lower()
    return RunFacts(
        version=run if version is None else version,
        number=run.number,
        verdict=verdict,
        problems=run_problems(run, policy),
        processing=processing,
        dag=dag,
        copies=copies,
        start=start,
        due=due,
        since=(run.end or run.start).timestamp(),
        source=sys.intern(run.source),
        science_run=_share(science_run),
        events=run.events,
        size=run.raw_size_bytes,
        search=search,
    )


@dataclass(frozen=True, slots=True, repr=False)
class RunTable:
    """The facts of one snapshot's runs, in the snapshot's order."""

    runs: Sequence[Run]
    facts: tuple[RunFacts, ...]
    #: Runs whose facts were derived anew for this table (not reused).
    derived: int = 0
    #: The order in which tables were made (one count for every index): a
    #: table reaches its reader from the thread of the poll that made it, and
    #: the runs poll's (which computes the alarms after it) can arrive after
    #: a newer one the jobs poll made from it; the reader keeps the newest.
    serial: int = 0

    def __len__(self) -> int:
        return len(self.facts)

    def __repr__(self) -> str:
        # Short: a table is passed to workers, whose description is its repr
        # (the dataclass's own would spell out every run, 0.4 s at 26,762).
        return f"RunTable({len(self.facts):,} runs, {self.derived:,} derived)"

    def newer_than(self, other: RunTable | None) -> bool:
        """Whether this table should replace ``other`` (of the same index)."""
        return other is None or self.serial >= other.serial

    @property
    def malformed(self) -> int:
        """Runs with something malformed (``safety.run_problems``)."""
        return sum(1 for f in self.facts if f.problems)

    def unsafe(self) -> Iterator[tuple[int, RunFacts]]:
        """(index, facts) of every run not data-safe, in order."""
        return ((i, f) for i, f in enumerate(self.facts) if not f.verdict.safe)


def _versions(runs: Sequence[Run]) -> Iterable[tuple[int, object]]:
    if isinstance(runs, Versioned):
        return runs.versions()
    return ((run.number, run) for run in runs)


#: Serial numbers of tables (``RunTable.serial``), taken under an index's lock.
_serials = itertools.count(1)


class RunIndex:
    """Facts per run number, kept from one poll to the next (see the module doc).

    ``update`` may be called from any thread; calls are serialized.
    """

    def __init__(self, policy: SafetyPolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        self._facts: dict[int, RunFacts] = {}
        self._source: object = None
        self._dags: Mapping[int, Dag] = {}
        self.last: RunTable | None = None

    def update(self, runs: Sequence[Run], dags: Mapping[int, Dag] | None = None) -> RunTable:
        """The table of ``runs``: facts reused for every run whose version and
        DAG are the ones they were derived from, derived anew for the others."""
        with self._lock:
            if dags is not None:
                self._dags = dags
            dags = self._dags
            source = runs.source_key if isinstance(runs, Versioned) else None
            if source is not self._source:
                self._facts = {}  # versions of another history mean nothing here
                self._source = source
            known = self._facts
            fresh: dict[int, RunFacts] = {}
            out: list[RunFacts] = []
            derived = 0
            policy = self.policy
            for index, (number, version) in enumerate(_versions(runs)):
                facts = known.get(number)
                dag = dags.get(number)
                if (
                    facts is None
                    or (facts.version is not version and facts.version != version)
                    or facts.dag != dag
                ):
                    run = version if isinstance(version, Run) else runs[index]
                    facts = run_facts(run, dag, policy, version)
                    derived += 1
                fresh[number] = facts
                out.append(facts)
            self._facts = fresh
            self.last = RunTable(runs, tuple(out), derived, next(_serials))
            return self.last

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
            facts = list(last.facts)
            derived = 0
            for number in changed:
                index = bisect_left(facts, number, key=lambda f: f.number)
                if index == len(facts) or facts[index].number != number:
                    # Runs out of number order (a source's garbage): look for it.
                    index = next((i for i, f in enumerate(facts) if f.number == number), -1)
                    if index < 0:
                        continue  # a DAG of a run this table does not hold
                old = facts[index]
                run = old.version if isinstance(old.version, Run) else last.runs[index]
                facts[index] = run_facts(run, dags.get(number), self.policy, old.version)
                self._facts[number] = facts[index]
                derived += 1
            if not derived:
                return None
            self.last = RunTable(last.runs, tuple(facts), derived, next(_serials))
            return self.last


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
