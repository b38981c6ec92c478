"""The ``nats`` backend: every kind from a collector's snapshots on NATS JetStream.

A console with this backend polls no real service: one watch of the bucket
(``feed``: the heartbeat, the latest snapshot of each kind, the runs as
chunks and a head) delivers the current value of every key at once and
every update after it, and each update wakes the poll of its kind
(``Backend.subscribe``). A fetch reads what the watch holds, decoded once
per value. What a pane then says is what is true:

* NATS unreachable: the connection's error (no credentials in it);
* no collector yet: the bucket or its heartbeat does not exist;
* the collector silent: no new heartbeat for ``silent_after`` heartbeats
  (default 3), on this console's clock;
* not polled yet by this collector (an earlier one's snapshot is not its own);
* the source stale at the collector: the error of the collector's last poll
  of that kind, as the collector saw it;

and the age of the data is its age at the collector (``data_age``), not
the time it took to reach this console.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from backends import backend_options as opt
from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RunsSnapshot,
    TapeSnapshot,
    TransfersSnapshot,
)
from backends.natsfeed import feed
from backends.natsfeed.link import OPTIONS as LINK_OPTIONS
from backends.natsfeed.link import Link, NatsOptions, one_line
from backends.sources import (
    Backend,
    BufferSource,
    JobsSource,
    RunsSource,
    SourceError,
    TapeSource,
    TransfersSource,
)

OPTIONS = (*LINK_OPTIONS, "silent_after")
S = TypeVar("S")
#: Seconds the first fetch waits for the bucket's values beyond the connect timeout.
FIRST_WAIT = 8.0
#: Seconds without any update before the watch checks it is still alive.
IDLE_CHECK = 5.0


def _clock(unix: float) -> str:
    """A time of this console's clock, as the panes write times."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))
    except (OverflowError, OSError, ValueError):
        return "an unknown time"


class NatsBackend(Backend, BufferSource, TransfersSource, TapeSource, JobsSource, RunsSource):
    name: ClassVar[str] = "nats"
    description: ClassVar[str] = "every pane from a collector's snapshots on NATS JetStream"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.nats = NatsOptions.from_options(self.options, known=OPTIONS)
        self.silent_after = opt.number(self.options, "silent_after", 3.0, minimum=1.0, maximum=1000)
        self._lock = threading.Lock()
        #: The latest value and revision of every key the watch delivered.
        self._values: dict[str, tuple[int, bytes]] = {}
        #: Whether the watch has delivered the bucket's current values.
        self._current = False
        #: Set once the first answer is in: the bucket's values, or why not.
        self._answered = threading.Event()
        self._watch_error: str | None = None
        self._decoded: dict[str, tuple[int, Any]] = {}
        self._runs = feed.RunsAssembler()
        self._runs_lock = threading.Lock()
        self._subscribers: list[Callable[[Kind], None]] = []
        self._health: dict[str, tuple[str | None, bool]] = {}
        self._silent = False
        #: When the last new heartbeat arrived (this console's monotonic clock).
        self._beat_seen = time.monotonic()
        #: This console's wall clock minus the collector's (0 until known).
        self._skew = 0.0
        self._link = Link(self.nats, on_connected=self._watch, on_change=self._wake_all)
        self._link.start()

    # ----------------------------------------------------------- the watch

    async def _watch(self, client: Any) -> None:
        """Follow the bucket for as long as the connection lasts (the link
        cancels this when it ends and starts it again on the next one)."""
        from nats.js.errors import BucketNotFoundError

        while True:
            try:
                kv = await client.jetstream().key_value(self.nats.bucket)
            except BucketNotFoundError:
                self._watch_error = (
                    f"no bucket {self.nats.bucket!r} on the NATS server yet "
                    "(no collector has written to it)"
                )
                self._wake_all()
                await asyncio.sleep(2.0)
                continue
            except Exception as exc:  # not connected, no JetStream: say it, retry
                self._watch_error = f"cannot open bucket {self.nats.bucket!r}: {one_line(exc)}"
                self._wake_all()
                await asyncio.sleep(2.0)
                continue
            try:
                await self._follow(kv)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken watch: start a new one
                self._watch_error = f"watch of bucket {self.nats.bucket!r} failed: {one_line(exc)}"
                self._wake_all()
                await asyncio.sleep(1.0)

    async def _follow(self, kv: Any) -> None:
        import nats.errors

        watcher = await kv.watchall()
        #: The heartbeat's revision the watch must reach before its values are current.
        awaited: int | None = None
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=IDLE_CHECK)
                except nats.errors.TimeoutError:
                    self._check_silence()
                    if await self._watch_is_behind(kv):
                        return  # the server moved on without telling this watch
                    continue
                if entry is None:  # "every current value delivered", says the client
                    awaited = await self._beat_not_delivered(kv)
                    if awaited is None:
                        self._became_current()
                    continue
                try:
                    self._take(entry)
                except Exception:  # a hostile value is its pane's error, said at the fetch
                    continue
                if (
                    awaited is not None
                    and entry.key == feed.HEARTBEAT_KEY
                    and entry.revision >= awaited
                ):
                    awaited = None
                    self._became_current()
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

    async def _beat_not_delivered(self, kv: Any) -> int | None:
        """The revision of the bucket's heartbeat when the watch has not
        delivered it yet, else None. nats-py can signal the end of the
        current values before the first of them (the consumer's info says
        nothing is pending once the server has sent the values, before the
        client has read them): a console that believed it would say "no
        collector" of a bucket a collector is writing. The heartbeat is
        the last key of every publication, so once the watch reaches it the
        values before it are in too."""
        if self._value(feed.HEARTBEAT_KEY) is not None:
            return None
        try:
            entry = await kv.get(feed.HEARTBEAT_KEY)
        except Exception:  # no heartbeat (no collector yet), or not connected
            return None
        revision: int = entry.revision
        return revision

    def _became_current(self) -> None:
        with self._lock:
            self._current, self._watch_error = True, None
        self._answered.set()
        self._wake_all()

    async def _watch_is_behind(self, kv: Any) -> bool:
        """Whether the heartbeat moved on without the watch delivering it
        (a restarted server can drop a watch's consumer silently)."""
        try:
            entry = await kv.get(feed.HEARTBEAT_KEY)
        except Exception:  # no heartbeat, or not connected: nothing to compare
            return False
        seen = self._values.get(feed.HEARTBEAT_KEY)
        return seen is None or entry.revision > seen[0]

    def _take(self, entry: Any) -> None:
        key = entry.key
        with self._lock:
            if entry.operation in ("DEL", "PURGE") or entry.value is None:
                self._values.pop(key, None)
            else:
                self._values[key] = (entry.revision, bytes(entry.value))
            self._watch_error = None
        if key == feed.HEARTBEAT_KEY:
            self._heartbeat_arrived()
        elif key == feed.RUNS_HEAD_KEY:
            self._wake(Kind.RUNS)
        elif key.startswith("snap."):
            with contextlib.suppress(ValueError):
                self._wake(Kind(key[len("snap.") :]))

    def _heartbeat_arrived(self) -> None:
        """A new heartbeat: when it arrived is the console's own clock's say
        (the collector's clock may be off). One of the bucket's first values
        is as old as it says, at most; a later one is new now, and tells how
        far the collector's clock is from this one's."""
        try:
            beat = self._heartbeat()
        except SourceError:
            self._wake_all()
            return
        if beat is None:
            return
        now = time.monotonic()
        if self._current:
            self._beat_seen = now
            self._skew = time.time() - beat.at
        else:
            self._beat_seen = now - min(max(0.0, time.time() - beat.at), 1e9)
        if self._silent:
            self._silent = False
            self._wake_all()
        self._heartbeat_changed(beat)

    def _silence(self, beat: feed.Heartbeat) -> float | None:
        """Seconds since the last heartbeat arrived, when that is too long."""
        quiet = time.monotonic() - self._beat_seen
        return quiet if quiet > self.silent_after * beat.every else None

    def _check_silence(self) -> None:
        """Wake every kind when the collector falls silent (nothing else
        would: a silent collector writes nothing)."""
        try:
            beat = self._heartbeat()
        except SourceError:
            return
        silent = beat is not None and self._silence(beat) is not None
        if silent != self._silent:
            self._silent = silent
            self._wake_all()

    def _heartbeat_changed(self, beat: feed.Heartbeat) -> None:
        """Wake the kinds whose health at the collector changed."""
        for kind in self.kinds:
            health = beat.sources.get(kind.value)
            now = (health.error, health.ok_at is None) if health else ("not polled", True)
            if self._health.get(kind.value) != now:
                self._health[kind.value] = now
                self._wake(kind)

    # --------------------------------------------------------- subscribers

    def subscribe(self, changed: Callable[[Kind], None]) -> None:
        self._subscribers.append(changed)

    def _wake(self, kind: Kind) -> None:
        for changed in list(self._subscribers):
            with contextlib.suppress(Exception):
                changed(kind)

    def _wake_all(self) -> None:
        if self._watch_error is not None or (not self._link.connected and self._link.tried):
            self._answered.set()
        for kind in self.kinds:
            self._wake(kind)

    # ------------------------------------------------------------- reading

    def _value(self, key: str) -> tuple[int, bytes] | None:
        with self._lock:
            return self._values.get(key)

    def _decode(self, key: str, decode: Callable[[bytes], Any]) -> Any:
        """The decoded value of a key, once per revision (None when absent)."""
        held = self._value(key)
        if held is None:
            return None
        revision, value = held
        cached = self._decoded.get(key)
        if cached is not None and cached[0] == revision:
            return cached[1]
        try:
            decoded = decode(value)
        except feed.FeedError as exc:
            raise SourceError(f"bad data in the bucket: {exc}") from None
        except Exception as exc:  # anything else a hostile value can cause
            raise SourceError(f"bad data in the bucket: {key}: {one_line(exc)}") from None
        self._decoded[key] = (revision, decoded)
        return decoded

    def _heartbeat(self) -> feed.Heartbeat | None:
        beat: feed.Heartbeat | None = self._decode(feed.HEARTBEAT_KEY, feed.unpack_heartbeat)
        return beat

    def _health_of(self, kind: Kind) -> feed.SourceHealth:
        """The kind's health at the collector; ``SourceError`` saying why
        there is nothing to show."""
        link = self._link
        # The first fetch (a one-shot `report`) waits for the first answer.
        self._answered.wait(self.nats.connect_timeout + FIRST_WAIT)
        if not link.connected:
            raise SourceError(
                f"NATS unreachable at {self.nats.where()} since {_clock(link.since)}: {link.error}"
            )
        with self._lock:
            current, error = self._current, self._watch_error
        if error is not None:
            raise SourceError(error)
        if not current:
            raise SourceError(
                f"reading bucket {self.nats.bucket!r}: the first values are on their way"
            )
        beat = self._heartbeat()
        if beat is None:
            raise SourceError(f"no collector has written to bucket {self.nats.bucket!r} yet")
        quiet = self._silence(beat)
        if quiet is not None:
            last = _clock(time.time() - quiet)
            raise SourceError(
                f"collector silent: no heartbeat since {last} "
                f"(more than {self.silent_after * beat.every:g} s; {beat.who()})"
            )
        health = beat.sources.get(kind.value)
        if health is None:
            raise SourceError(f"the {beat.who()} does not poll {kind.value}")
        if health.error is not None:
            when = ""
            if health.ok_at is not None:
                when = f"; its last good data is from {_clock(health.ok_at + self._skew)}"
            raise SourceError(f"stale at the collector: {health.error}{when}")
        if health.ok_at is None:
            raise SourceError(
                f"not polled yet by the {beat.who()}: its first poll of {kind.value} is on its way"
            )
        return health

    def data_age(self, kind: Kind) -> float:
        """How old the last fetched data was: since it reached the collector
        (its stamp), on this console's clock."""
        key = feed.RUNS_HEAD_KEY if kind is Kind.RUNS else feed.snapshot_key(kind)
        held = self._decoded.get(key)
        if held is None:
            return 0.0
        stamp: feed.Stamp = held[1][0]
        return min(max(0.0, time.time() - (stamp.at + self._skew)), 1e9)

    def _snapshot(self, kind: Kind, cls: type[S]) -> S:
        """The latest snapshot of ``kind`` (unpack_snapshot checked its type)."""
        self._health_of(kind)
        held = self._decode(feed.snapshot_key(kind), lambda v: feed.unpack_snapshot(v, kind))
        snapshot = held[1] if held is not None else None
        if not isinstance(snapshot, cls):
            raise SourceError(f"no {kind.value} snapshot in bucket {self.nats.bucket!r} yet")
        return snapshot

    def fetch_buffer(self) -> BufferSnapshot:
        return self._snapshot(Kind.BUFFER, BufferSnapshot)

    def fetch_transfers(self) -> TransfersSnapshot:
        return self._snapshot(Kind.TRANSFERS, TransfersSnapshot)

    def fetch_tape(self) -> TapeSnapshot:
        return self._snapshot(Kind.TAPE, TapeSnapshot)

    def fetch_jobs(self) -> JobsSnapshot:
        return self._snapshot(Kind.JOBS, JobsSnapshot)

    def fetch_runs(self) -> RunsSnapshot:
        self._health_of(Kind.RUNS)

        def assemble(value: bytes) -> tuple[feed.Stamp, RunsSnapshot]:
            head = feed.unpack_runs_head(value)

            def chunk(key: str) -> bytes | None:
                held = self._value(key)
                return None if held is None else held[1]

            snapshot = self._runs.assemble(head, chunk)
            with self._lock:  # the pieces of the base now held are not needed again
                for key in [k for k in self._values if feed.is_chunk_key(k)]:
                    if key.split(".")[1] == head.epoch:
                        del self._values[key]
            return head.stamp, snapshot

        # One assembly at a time: a fetch given up on (267,620 runs take
        # seconds) may still run when the next poll starts; that one then
        # waits and finds the result cached.
        with self._runs_lock:
            held = self._decode(feed.RUNS_HEAD_KEY, assemble)
        snapshot = held[1] if held is not None else None
        if snapshot is None:
            raise SourceError(f"no runs in bucket {self.nats.bucket!r} yet")
        assert isinstance(snapshot, RunsSnapshot)
        return snapshot

    def close(self) -> None:
        self._subscribers.clear()
        self._link.close()
