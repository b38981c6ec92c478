"""The console's state without any UI: SourceState, AlarmBook, the polling core."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from backends.analysis.alarms import Alarm, Severity, Thresholds
from backends.model import BufferSnapshot, Kind
from console.acks import AckStore
from console.config import load_config
from console.fetching import Backends
from console.polling import Derived, Polled, Poller, PollStarted, derive
from console.state.alarms import AlarmBook
from console.state.source import MAX_BACKOFF, SourceState, backoff
from tests.fakes import FakeBackend

T0 = datetime(2017, 11, 15, 12, tzinfo=UTC)
SNAPSHOT = BufferSnapshot(T0, 100, 50)


def state(**kw) -> SourceState:  # type: ignore[no-untyped-def]
    return SourceState(Kind.BUFFER, "lab", 5.0, 10.0, Thresholds(), **kw)


def test_a_source_keeps_good_data_through_errors_and_backs_off() -> None:
    s = state()
    assert not s.answered and not s.stale(0.0)
    s.started(1.0)
    s.finished(SNAPSHOT, None, 2.0)
    assert (s.snapshot, s.received_at, s.waiting_since, s.failures) == (SNAPSHOT, 2.0, None, 0)
    assert s.next_delay() == 5.0 and not s.stale(3.0)
    for n in range(1, 8):
        s.finished(None, "ConnectionError: refused", 3.0 + n)
        assert s.snapshot is SNAPSHOT and s.failures == n
        assert s.next_delay() == min(MAX_BACKOFF, 5.0 * 2 ** (n - 1))
    assert s.stale(11.0) and s.current_error(11.0) == "ConnectionError: refused"
    s.finished(SNAPSHOT, None, 20.0)
    assert s.failures == 0 and s.error is None and s.next_delay() == 5.0
    assert backoff(5.0, 0) == 5.0 and backoff(5.0, 99) == MAX_BACKOFF


def test_a_poll_that_does_not_answer_is_timed_out_and_stale() -> None:
    s = state()
    s.finished(SNAPSHOT, None, 0.0)
    s.started(1.0)
    assert not s.timed_out(11.0) and not s.stale(11.0)
    assert s.timed_out(11.5) and s.stale(11.5)
    assert s.current_error(31.0) == "no answer for 30 s"


def test_old_data_without_an_error_turns_stale() -> None:
    s = state()
    s.finished(SNAPSHOT, None, 0.0)
    limit = max(Thresholds().stale_min_seconds, 5.0 * Thresholds().stale_after_factor)
    assert not s.stale(limit) and s.stale(limit + 0.1)


def alarm(key: str, severity: Severity = Severity.CRITICAL) -> Alarm:
    return Alarm(key, severity, Kind.BUFFER, key, "detail", None, "hint")


def test_the_alarm_book_rings_once_per_new_critical_and_remembers_what_cleared() -> None:
    book = AlarmBook(AckStore(None))
    states = {Kind.BUFFER: state()}
    states[Kind.BUFFER].finished(SNAPSHOT, None, 0.0)
    assert not book.ready(states)  # the buffer's alarms are not in yet
    book.set_content(Kind.BUFFER, [alarm("buffer.fill")])
    assert book.ready(states)
    assert book.update(states, 1.0) is True  # rings
    assert book.update(states, 2.0) is False  # once
    book.acks.acknowledge(book.alarms[0], "on it")
    book.set_content(Kind.BUFFER, [alarm("buffer.fill"), alarm("buffer.uplink")])
    assert book.update(states, 3.0) is True  # a new critical one
    assert [a.key for a in book.alarms] == ["buffer.fill", "buffer.uplink"]
    book.set_content(Kind.BUFFER, [alarm("buffer.uplink")])
    book.update(states, 4.0)
    assert [a.key for a, _ in book.recent] == ["buffer.fill"]


def test_the_alarm_book_adds_each_sources_health() -> None:
    book = AlarmBook(AckStore(None), bell_on_critical=False)
    failing = state()
    failing.finished(None, "TimeoutError: timed out", 0.0)
    unassigned = SourceState(Kind.TAPE, None, 10.0)
    states = {Kind.BUFFER: failing, Kind.TAPE: unassigned}
    assert book.ready(states)  # the unassigned one is not awaited
    assert book.update(states, 1.0) is False
    assert [(a.key, a.severity) for a in book.alarms] == [("source.buffer.down", Severity.UNKNOWN)]


def fake_sources(tmp_path, backend: FakeBackend, extra: str = ""):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    panes = "".join(f'{kind.value} = "lab"\n' for kind in Kind)
    path.write_text(f'[backends.lab]\ntype = "fake"\n[panes]\n{panes}{extra}')
    config = load_config(path)
    return config, Backends(config, lambda type_name, options: backend)


def test_the_poller_polls_each_kind_in_its_own_thread_and_backs_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend = FakeBackend()
    backend.fail[Kind.BUFFER] = ConnectionError("refused")
    config, sources = fake_sources(tmp_path, backend)
    events: list[object] = []
    done = threading.Event()

    def deliver(event: object) -> None:
        events.append(event)
        if sum(isinstance(e, Derived) for e in events) >= 5:
            done.set()

    poller = Poller(sources, config, deliver, derive(config))
    poller.start()
    try:
        assert done.wait(10)
    finally:
        poller.stop()
        sources.close()
    polled = {e.result.kind: e.result for e in events if isinstance(e, Polled)}
    assert set(polled) == set(Kind)
    assert polled[Kind.BUFFER].error is not None and polled[Kind.BUFFER].snapshot is None
    assert all(polled[k].snapshot is not None for k in Kind if k is not Kind.BUFFER)
    started = [e.kind for e in events if isinstance(e, PollStarted)]
    assert sorted(set(started)) == sorted(Kind)
    derived = [e for e in events if isinstance(e, Derived)]
    assert all(e.alarms is not None for e in derived if e.snapshot is not None)


def test_poll_now_wakes_a_sleeping_kind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config, sources = fake_sources(tmp_path, FakeBackend())
    polls: list[float] = []
    first = threading.Event()

    def deliver(event: object) -> None:
        if isinstance(event, Polled) and event.result.kind is Kind.RUNS:
            polls.append(time.monotonic())
            first.set()

    poller = Poller(sources, config, deliver, derive(config))
    poller.start()
    try:
        assert first.wait(5)
        poller.poll_now([Kind.RUNS])
        deadline = time.monotonic() + 5
        while len(polls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(polls) >= 2 and polls[1] - polls[0] < config.intervals[Kind.RUNS]
    finally:
        poller.stop()
        sources.close()


def jobs_poller(config, sources):  # type: ignore[no-untyped-def]
    """A poller of ``sources``, the jobs polls it reports, and an event set
    at the first of them with data."""
    jobs: list[Polled] = []
    answered = threading.Event()

    def deliver(event: object) -> None:
        if isinstance(event, Polled) and event.result.kind is Kind.JOBS:
            jobs.append(event)
            if event.result.snapshot is not None:
                answered.set()

    return Poller(sources, config, deliver, derive(config)), jobs, answered


def test_a_poll_given_up_on_blocks_not_the_next(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A server that trickles a byte a second kept the buffer pane at "no
    answer" for 602 s, and `r` did nothing: the poll of that kind waited on
    the hung fetch. It is abandoned at the timeout; the next starts afresh."""
    backend = FakeBackend()
    gate = threading.Event()
    backend.hang[Kind.JOBS] = gate  # the first fetch of the jobs hangs
    config, sources = fake_sources(tmp_path, backend, "[timeouts]\njobs = 0.5\n")
    timeout = config.timeouts[Kind.JOBS]
    poller, jobs, second = jobs_poller(config, sources)
    start = time.monotonic()
    poller.start()
    try:
        deadline = start + timeout + 5
        while not jobs and time.monotonic() < deadline:
            time.sleep(0.01)
        assert jobs and jobs[0].result.snapshot is None
        assert jobs[0].result.error is not None and "asked again" in jobs[0].result.error
        assert time.monotonic() - start < timeout + 2.5
        backend.hang.pop(Kind.JOBS)  # the server answers again; the hung read still hangs
        poller.poll_now([Kind.JOBS])
        assert second.wait(5)
        assert backend.calls[Kind.JOBS] == 2 and not gate.is_set()
    finally:
        gate.set()
        poller.stop()
        sources.close()


def test_a_source_always_slower_than_its_timeout_still_shows_its_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A source a little slower than its timeout showed no data at all once
    its polls were abandoned: its late answer is reported, unless a newer
    poll's answer came first."""
    from console.polling import ABANDON_GRACE

    class Slow(FakeBackend):
        def _enter(self, kind: Kind) -> None:
            super()._enter(kind)
            if kind is Kind.JOBS:
                time.sleep(0.3 + ABANDON_GRACE + 0.4)  # every answer is late

    backend = Slow()
    config, sources = fake_sources(tmp_path, backend, "[timeouts]\njobs = 0.3\n")
    poller, jobs, answered = jobs_poller(config, sources)
    poller.start()
    try:
        assert answered.wait(10)
        assert jobs[0].result.snapshot is None and "asked again" in (jobs[0].result.error or "")
        late = next(e for e in jobs if e.result.snapshot is not None)
        assert late.result.error is None
    finally:
        poller.stop()
        sources.close()
