"""The polling core: every assigned kind polled in a thread of its own.

Each kind's thread fetches, reports the result, derives what the snapshot
raises (alarms: for the runs a verdict on every run), reports that, then
sleeps for the kind's interval, doubled per failure in a row up to two
minutes (``state.source.backoff``). So polls of one kind never overlap, a
slow source holds up no other, and a failing one backs off and recovers by
itself. ``poll_now`` wakes every sleeping thread at once (``r``).

Events go to one callback, in the polling thread; the TUI turns them into
messages for its main thread. No Textual here: the same core serves any
front end.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from backends.analysis.alarms import Alarm
from backends.analysis.run_index import RunIndex, RunTable
from backends.model import Kind, Snapshot
from console.config import Config
from console.fetching import Backends, Result, describe_error, fetch_one
from console.safe_text import redact_secrets, strip_controls
from console.state.source import backoff

#: Abandoned fetches of one kind left running before no new one is started.
MAX_ABANDONED = 3
#: Seconds past a kind's timeout before its fetch is abandoned.
ABANDON_GRACE = 1.0


@dataclass(frozen=True)
class PollStarted:
    kind: Kind
    #: The console's clock when the poll started.
    at: float


@dataclass(frozen=True)
class Polled:
    """A poll came back (its snapshot is shown first; alarms follow)."""

    result: Result
    at: float
    #: The pane's figures computed in the polling thread (``SourcePane.prepare``).
    prepared: object | None = None


@dataclass(frozen=True)
class Derived:
    """What a poll's snapshot raises, computed in the polling thread."""

    kind: Kind
    snapshot: Snapshot | None
    alarms: list[Alarm] | None
    #: Runs the pane marks malformed (0 for the other kinds).
    malformed: int = 0
    #: Why the derivation failed (garbage from the backend), else None.
    error: str | None = None
    #: The facts of every run (``analysis.run_index``): of this snapshot for
    #: the runs; for the jobs, the runs' last table with the new DAGs (None
    #: when no DAG changed).
    table: RunTable | None = None
    #: What this poll changed of another kind, delivered with it: after a
    #: transfers poll with new rules (a policy with ``rucio_check``), the
    #: runs' last snapshot with its table and alarms derived with them.
    then: Derived | None = None


Event = PollStarted | Polled | Derived


@dataclass
class Health:
    """A kind's source as a headless front end (collector, exporter) saw it."""

    backend: str
    #: The kind's poll interval (seconds).
    interval: float
    #: The error of its last poll, or None.
    error: str | None = None
    #: When the data of its last good snapshot was fresh (Unix seconds: the
    #: poll's time less the age the backend said the data had), None if never.
    ok_at: float | None = None
    polls: int = 0
    #: A collector's: why its last good snapshot could not be published
    #: (too large for the NATS server), None once one is; and when the data
    #: of the last one published was fresh.
    unpublished: str | None = None
    published_at: float | None = None

    def record(self, result: Result, now: float) -> bool:
        """A poll came back at ``now`` (Unix seconds); True when its error changed."""
        was = self.error
        self.polls += 1
        self.backend = result.source
        self.error = result.error
        if result.snapshot is not None:
            self.ok_at = now - max(0.0, result.age)
        return result.error != was


def change_line(result: Result) -> str:
    """What a headless front end logs when a source's error changes."""
    if result.error is None:
        return f"{result.kind.value}: back ({result.source})"
    return f"{result.kind.value}: {result.error}"


def log_line(stream: IO[str], role: str, line: str) -> None:
    """One time-stamped line on a headless front end's log (stderr), never a
    secret or a control character."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} {role}: {strip_controls(redact_secrets(line))}", file=stream, flush=True)


def healths(sources: Backends, config: Config) -> dict[Kind, Health]:
    """A ``Health`` for every assigned kind, none polled yet."""
    return {
        kind: Health(sources.backend_name(kind) or "-", config.intervals[kind])
        for kind in sources.kinds()
    }


Deliver = Callable[[Event], None]
Prepare = Callable[[Kind, Snapshot], object | None]
Derive = Callable[[Result], Derived]


class Poller:
    """Polls ``sources`` as ``config`` says, delivering events to ``deliver``."""

    def __init__(
        self,
        sources: Backends,
        config: Config,
        deliver: Deliver,
        derive: Derive,
        *,
        prepare: Prepare | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = sources
        self.config = config
        self.deliver = deliver
        self.derive = derive
        self.prepare = prepare
        self.clock = clock
        self._stop = threading.Event()
        self._wake = {kind: threading.Event() for kind in sources.kinds()}
        self._threads: list[threading.Thread] = []
        #: Fetches given up on and still running, per kind.
        self._abandoned: dict[Kind, int] = dict.fromkeys(self._wake, 0)
        #: Per kind: the number of the last fetch started, and of the newest
        #: whose answer was reported (an older late answer is dropped).
        self._started: dict[Kind, int] = dict.fromkeys(self._wake, 0)
        self._reported: dict[Kind, int] = dict.fromkeys(self._wake, 0)
        self._abandoned_lock = threading.Lock()
        self._reporting = {kind: threading.Lock() for kind in self._wake}

    def start(self) -> None:
        for name, backend in self.sources.instances().items():
            backend.subscribe(functools.partial(self._changed, name=name))
        for kind in self._wake:
            thread = threading.Thread(
                target=self._loop, args=(kind,), name=f"poll-{kind.value}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def poll_now(self, kinds: Iterable[Kind] | None = None) -> None:
        """Poll these kinds (every one) as soon as their running poll is done."""
        for kind in self._wake if kinds is None else kinds:
            if kind in self._wake:
                self._wake[kind].set()

    def _changed(self, kind: Kind, name: str) -> None:
        """Backend ``name`` has new data of ``kind`` (``Backend.subscribe``):
        poll it, if it is the one serving that kind here."""
        if not self._stop.is_set() and self.sources.backend_name(kind) == name:
            self.poll_now((kind,))

    def stop(self) -> None:
        """Stop polling; a fetch still running is abandoned (its thread is a daemon)."""
        self._stop.set()
        for wake in self._wake.values():
            wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _loop(self, kind: Kind) -> None:
        failures = 0
        interval = self.config.intervals[kind]
        wake = self._wake[kind]
        while not self._stop.is_set():
            wake.clear()
            self.deliver(PollStarted(kind, self.clock()))
            result = self._fetch_bounded(kind)
            if self._stop.is_set():
                return
            with self._reporting[kind]:  # after a late answer being reported
                self._report(result)
            failures = 0 if result.error is None else failures + 1
            wake.wait(backoff(interval, failures))

    def _report(self, result: Result) -> None:
        self.deliver(Polled(result, self.clock(), self._prepared(result.kind, result)))
        self.deliver(self.derive(result))

    def _fetch_bounded(self, kind: Kind) -> Result:
        """Fetch in a thread of its own, given up on after the kind's timeout.

        A backend's own timeouts may bound each read but not the whole (a
        server that trickles a byte a second): at the timeout (plus
        ``ABANDON_GRACE``, so that a backend's own, more precise, timeout
        message comes first) the poll says "no answer" and the next one
        starts afresh after the back-off, so neither `r` nor a server that
        recovers is held up. The abandoned fetch may still answer: its answer
        is reported if no newer poll's was (a source that is always a little
        slow still shows its data). At most ``MAX_ABANDONED`` abandoned
        fetches of a kind are left running; beyond that, none is started
        until one of them ends.
        """
        name = self.sources.backend_name(kind) or "-"
        timeout = self.config.timeouts[kind]
        lock = self._abandoned_lock
        with lock:
            hanging = self._abandoned[kind]
            self._started[kind] += 1
            poll = self._started[kind]
        if hanging >= MAX_ABANDONED:
            return Result(
                kind,
                name,
                None,
                f"{hanging} earlier polls still hang (no answer after {timeout:g} s each); "
                "waiting for one of them to end",
                0.0,
            )
        box: list[Result] = []
        done = threading.Event()
        abandoned = threading.Event()

        def work() -> None:
            result = fetch_one(self.sources, kind)
            with lock:
                late = abandoned.is_set()
                if late:
                    self._abandoned[kind] -= 1
                    late = poll > self._reported[kind]  # no newer poll answered
                    if late:
                        self._reported[kind] = poll
                else:
                    box.append(result)
                done.set()
            if late and not self._stop.is_set():
                with self._reporting[kind]:
                    self._report(result)

        threading.Thread(target=work, name=f"fetch-{kind.value}", daemon=True).start()
        done.wait(timeout + ABANDON_GRACE)
        with lock:
            if box:
                self._reported[kind] = poll  # in time: the newest answer there is
                return box[0]
            abandoned.set()
            self._abandoned[kind] += 1
        return Result(
            kind,
            name,
            None,
            f"no answer within {timeout:g} s: asked again after the back-off "
            "(a late answer still counts)",
            timeout,
        )

    def _prepared(self, kind: Kind, result: Result) -> object | None:
        if self.prepare is None or result.snapshot is None:
            return None
        try:
            return self.prepare(kind, result.snapshot)
        except Exception:  # the pane will prepare it itself, and say what is wrong
            return None


def derive(config: Config, kinds: Iterable[Kind] | None = None) -> Derive:
    """The derivation every front end uses: the content alarms of a result's
    snapshot (``backends.kinds``); for the runs, from the facts of every run,
    kept from poll to poll so only the runs that changed are derived anew.

    With a policy that asks Rucio (``rucio_check``), the runs are derived
    with the rules of the last transfers poll (``analysis.rucio_evidence``);
    a transfers poll with other rules (or none: the source failed) derives
    the runs' last table again, only the runs whose evidence changed, and
    delivers it with their alarms (``Derived.then``). ``kinds``: the kinds
    assigned (without the transfers the copies say "no transfers pane")."""
    from backends import kinds as registry
    from backends.analysis.alarms import runs_alarms
    from backends.analysis.jobs import dag_for_run
    from backends.analysis.rucio_evidence import NO_TRANSFERS_PANE, Evidence, evidence_of
    from backends.model import JobsSnapshot, RunsSnapshot, TransfersSnapshot

    policy = config.policy
    evidence: Evidence | None = None
    if policy.rucio_check:
        blind = kinds is not None and Kind.TRANSFERS not in set(kinds)
        evidence = Evidence(None, NO_TRANSFERS_PANE) if blind else Evidence(None)
    index = RunIndex(policy, evidence)
    #: The runs snapshot of the index's last table, and the rules its
    #: evidence is of (``()`` before any transfers data).
    lock = threading.Lock()
    shown: list[RunsSnapshot | None] = [None]
    rules_seen: list[object] = [None]
    joined: list[Evidence | None] = [None]

    def runs_derived(snapshot: RunsSnapshot, table: RunTable) -> Derived:
        alarms = list(runs_alarms(snapshot, config.thresholds, snapshot.taken_at, policy, table))
        return Derived(Kind.RUNS, snapshot, alarms, table.malformed, table=table)

    def rucio(result: Result) -> Derived | None:
        """The runs derived again with this transfers poll's word, if it changed."""
        snapshot = result.snapshot
        rules = snapshot.rules if isinstance(snapshot, TransfersSnapshot) else None
        with lock:
            if rules is rules_seen[0] or rules == rules_seen[0]:
                return None
            rules_seen[0] = rules
            # Joined anew only where the rules are other objects than last
            # time (a XENONnT Rucio lists tens of thousands, nearly all the same).
            joined[0] = new = evidence_of(snapshot, previous=joined[0])
            table = index.with_evidence(new)
            runs = shown[0]
        if table is None or runs is None or runs.runs is not table.runs:
            return None
        return runs_derived(runs, table)

    def run(result: Result) -> Derived:
        snapshot = result.snapshot
        then: Derived | None = None
        try:
            if evidence is not None and result.kind is Kind.TRANSFERS:
                then = rucio(result)
        except Exception as exc:  # garbage from a backend must not kill the poller
            error = f"bad data: {describe_error(exc)}"
            return Derived(result.kind, snapshot, [] if snapshot else None, 0, error)
        if snapshot is None:
            return Derived(result.kind, None, None, then=then)
        try:
            if isinstance(snapshot, RunsSnapshot):
                with lock:
                    table = index.update(snapshot.runs)
                    shown[0] = snapshot
                return runs_derived(snapshot, table)
            alarms = registry.content_alarms(
                snapshot, config.thresholds, snapshot.taken_at, config.policy
            )
            tabled: RunTable | None = None
            if isinstance(snapshot, JobsSnapshot):
                tabled = index.with_dags(dag_for_run(snapshot))
        except Exception as exc:  # garbage from a backend must not kill the poller
            error = f"bad data: {describe_error(exc)}"
            return Derived(result.kind, snapshot, [], 0, error, then=then)
        return Derived(result.kind, snapshot, alarms, table=tabled, then=then)

    return run
