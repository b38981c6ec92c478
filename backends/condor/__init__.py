"""HTCondor job queues through the ``htcondor2`` bindings: the jobs pane and run drill-down.

Each poll reads every schedd in its own worker thread: one ``Schedd.query``
with a projection of only the attributes used, and one ``Schedd.history``
that stops at the newest job seen before. A schedd that fails or does not
answer within ``timeout`` keeps its last jobs in the snapshot and is listed
in ``schedd_errors``; the others go on, and it recovers on the next poll that
reaches it. Only when no schedd at all could be read does the fetch raise,
so the pane turns STALE as for any failed source.

The backend only reads: it never calls anything that acts on a job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from backends.analysis.units import one_line
from backends.condor.ads import AdReader, projection
from backends.condor.aggregate import (
    merge_queue_and_history,
    problem_line,
    read_ads,
    run_detail,
    snapshot,
)
from backends.condor.history import HistoryWindow
from backends.condor.options import CondorOptions, parse_options
from backends.condor.redact import redact
from backends.condor.run_mapping import RunMapper
from backends.condor.transport import Htcondor2Transport, ScheddRef, Transport
from backends.model import Dag, Job, JobsSnapshot, RunDetail
from backends.sources import Backend, JobsSource, RunDetailSource, SourceError

__all__ = ["CondorBackend", "CondorOptions"]

#: A run's details come from the last poll when it is at most this old
#: (seconds), so opening a run does not read 100,000 job ads again.
DETAIL_MAX_AGE_S = 30.0


def _spawn(fn: Callable[[], Any]) -> Future[Any]:
    """Run ``fn`` in a daemon thread; its Future says when it is done.

    Not a ThreadPoolExecutor: its workers are joined when Python exits, so a
    read stuck in the bindings (a schedd that never answers) would keep the
    console from quitting. At most one read per schedd (and one collector
    query) is in flight, so these threads stay few.
    """
    future: Future[Any] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=run, name="condor-read", daemon=True).start()
    return future


def _error_line(exc: BaseException) -> str:
    """``Type: message``, one line, short, without credentials."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(one_line(text))[:300]


@dataclass(slots=True)
class _Schedd:
    """What the backend knows about one schedd between polls."""

    ref: ScheddRef
    history: HistoryWindow
    #: Queue and history readers; the queue one remembers unchanged jobs.
    queue_reader: AdReader
    history_reader: AdReader
    jobs: list[Job] = field(default_factory=list)
    dags: list[Dag] = field(default_factory=list)
    read_at: datetime | None = None
    error: str | None = None
    problem: str | None = None
    inflight: Future[None] | None = None


class CondorBackend(Backend, JobsSource, RunDetailSource):
    """Serves the jobs pane and a run's DAG and held jobs from HTCondor schedds."""

    name: ClassVar[str] = "condor"
    description: ClassVar[str] = "HTCondor schedds (queue and history) through htcondor2"

    def __init__(
        self,
        options: Mapping[str, Any],
        transport: Transport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``transport`` and ``clock`` are for tests (ads from text, simulated time)."""
        super().__init__(options)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.config = parse_options(self.options)
        self.transport: Transport = transport or Htcondor2Transport(self.config.pool)
        self._reader_mapper = RunMapper(self.config.run_attribute, self.config.run_pattern)
        self._projection = projection(self.config.site_attributes, self.config.run_attribute)
        self._lock = threading.Lock()
        self._schedds: dict[str, _Schedd] = {}
        self._collector_error: str | None = None
        #: The last snapshot and when (monotonic) it was made, for run details.
        self._last: tuple[float, JobsSnapshot] | None = None
        self._locating: Future[list[ScheddRef]] | None = None

    # ------------------------------------------------------------- schedds

    def _targets(self) -> list[ScheddRef]:
        """The schedds to read this poll: from the config, else the collector.

        Asked in a worker with the same timeout as a schedd, and without the
        lock, so a collector that hangs holds up nothing else.
        """
        if self.config.schedds:
            return list(self.config.schedds)
        collector = f"collector {self.config.pool or '(local)'}"
        with self._lock:
            if self._locating is None or self._locating.done():
                self._locating = _spawn(self.transport.locate_schedds)
            locating = self._locating
        try:
            refs = locating.result(timeout=self.config.timeout_s)
        except Exception as exc:
            error = (
                f"no answer within {self.config.timeout_s:g} s"
                if isinstance(exc, FutureTimeout)
                else _error_line(exc)
            )
            with self._lock:
                known = [s.ref for s in self._schedds.values()]
                self._collector_error = error
            if not known:
                raise SourceError(f"{collector}: {error}") from exc
            return known
        with self._lock:
            self._collector_error = None
        if not refs:
            raise SourceError(f"{collector} knows no schedd")
        return refs

    def _state(self, ref: ScheddRef) -> _Schedd:
        state = self._schedds.get(ref.name)
        if state is None:
            state = self._schedds[ref.name] = _Schedd(
                ref,
                HistoryWindow(self.config.history_s),
                self._reader(ref.name),
                self._reader(ref.name),
            )
        elif ref.address and ref.address != state.ref.address:
            state.ref = ref
        return state

    def _reader(self, schedd: str) -> AdReader:
        return AdReader(schedd, self.config.site_attributes, self._reader_mapper)

    def _read(self, state: _Schedd) -> None:
        """Read one schedd (in a worker thread) and store what it holds."""
        try:
            ref = state.ref
            if ref.address is None:
                ref = self.transport.locate(ref.name)
            now = self._clock()
            ads = self.transport.query(ref, self.config.constraint, self._projection)
            state.queue_reader.begin_queue()
            try:
                queue = read_ads(state.queue_reader, ads)
            finally:
                state.queue_reader.end_queue()
            history = read_ads(
                state.history_reader,
                self.transport.history(
                    ref, state.history.since(now), self.config.constraint, self._projection
                ),
                finished=True,
            )
        except Exception as exc:
            with self._lock:
                state.error = _error_line(exc)
            return
        with self._lock:
            state.history.add(history, now)
            state.jobs, state.dags = merge_queue_and_history(queue, state.history)
            state.read_at = now
            state.error = None
            state.problem = problem_line(
                ref.name,
                queue.skipped + history.skipped,
                queue.first_problem or history.first_problem,
            )

    # --------------------------------------------------------------- fetch

    def fetch_jobs(self) -> JobsSnapshot:
        targets = self._targets()
        with self._lock:
            states = [self._state(ref) for ref in targets]
            started = []
            for state in states:
                if state.inflight is None or state.inflight.done():
                    state.inflight = _spawn(partial(self._read, state))
                    started.append(state.inflight)
        wait(started, timeout=self.config.timeout_s)
        taken_at = self._clock()
        with self._lock:
            errors: list[tuple[str, str]] = []
            if self._collector_error is not None:
                errors.append((f"collector {self.config.pool or '(local)'}", self._collector_error))
            for state in states:
                if state.inflight is not None and not state.inflight.done():
                    state.error = f"no answer within {self.config.timeout_s:g} s"
                if state.error is not None:
                    errors.append((state.ref.name, self._stale_line(state, taken_at)))
            if states and all(s.error is not None for s in states):
                raise SourceError(
                    "no schedd could be read: "
                    + "; ".join(f"{name}: {error}" for name, error in errors)
                )
            names = [s.ref.name for s in states]
            snap = snapshot(
                taken_at,
                names,
                {s.ref.name: s.jobs for s in states},
                {s.ref.name: s.dags for s in states},
                errors,
                [s.problem for s in states if s.problem is not None],
            )
            self._last = (time.monotonic(), snap)
            return snap

    @staticmethod
    def _stale_line(state: _Schedd, now: datetime) -> str:
        if state.read_at is None:
            return f"{state.error} (no data yet)"
        age = int((now - state.read_at).total_seconds())
        return f"{state.error} (showing data from {age} s ago)"

    def fetch_run_detail(self, run_number: int, run_name: str | None = None) -> RunDetail:
        """The run's DAGs and node jobs, from the last poll if it is recent."""
        with self._lock:
            last = self._last
        if last is not None and time.monotonic() - last[0] <= DETAIL_MAX_AGE_S:
            return run_detail(last[1], run_number)
        return run_detail(self.fetch_jobs(), run_number)

    def close(self) -> None:
        """Nothing to release: reads in flight end with their daemon threads."""
