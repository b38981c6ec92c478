"""``xenon-console collect``: poll the backends once for every console, publish to NATS.

The collector runs the polling core the TUI runs (``console.polling``: the
same intervals, timeouts and back-off) with no screen, and publishes every
good snapshot to a JetStream key-value bucket as ``backends.natsfeed.feed``
lays it out, plus a heartbeat with its identity and every source's health.
Consoles read the bucket with the ``nats`` backend.

Publishing never holds up a poll: each poll's result replaces the kind's
pending one (only the newest matters) and a publisher thread writes what is
pending. While NATS is unreachable the collector goes on polling, says so
once on stderr, and writes the newest of everything once NATS is back (a
runs history then as a new base: the bucket may have lost the old one).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from backends import kinds
from backends.model import Kind, RunsSnapshot, Snapshot
from backends.natsfeed import feed
from backends.natsfeed.feed import ACKS_SUFFIX
from backends.natsfeed.link import Link, NatsOptions, one_line, open_bucket
from console.config import Config
from console.exporter import Exporter, MetricsServer
from console.fetching import Backends, Result
from console.polling import (
    Derive,
    Derived,
    Event,
    Polled,
    Poller,
    change_line,
    derive,
    healths,
    log_line,
)

#: Seconds between heartbeats (a console calls the collector silent after
#: three missed ones).
HEARTBEAT_EVERY = 5.0
#: Seconds a write to NATS may take before it counts as failed.
WRITE_TIMEOUT = 30.0


def _epochs() -> Callable[[], str]:
    """Epoch names unique across collectors and restarts."""
    tag = secrets.token_hex(3)
    counter = itertools.count()
    return lambda: f"{int(time.time() * 1000):x}{tag}{next(counter)}"


class Collector:
    """Polls ``sources`` as ``config`` says and publishes to NATS."""

    def __init__(
        self,
        config: Config,
        sources: Backends,
        options: NatsOptions,
        *,
        heartbeat_every: float = HEARTBEAT_EVERY,
        log: IO[str] | None = None,
        version: str = "unknown",
        metrics: tuple[str, int] | None = None,
    ) -> None:
        """``metrics``: also serve Prometheus metrics on (host, port)
        (``console.exporter``; the address is taken at ``start``)."""
        self.config = config
        self.sources = sources
        self.options = options
        self.heartbeat_every = heartbeat_every
        self._log = log if log is not None else sys.stderr
        #: Who is collecting; each heartbeat is this with its time and health.
        self.identity = feed.Heartbeat(
            secrets.token_hex(8),
            socket.gethostname(),
            feed.os_user(),
            os.getpid(),
            version,
            time.time(),
            0.0,
            heartbeat_every,
        )
        self._lock = threading.Lock()
        #: Per kind: the newest good result not written yet, and when it came.
        self._pending: dict[Kind, tuple[Result, float]] = {}
        self._health = healths(sources, config)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._runs = feed.RunsPublisher(_epochs())
        #: The runs epochs written, newest last (the last two are kept).
        self._epochs: list[str] = []
        self._kv: Any = None
        self._said: str | None = None
        #: Snapshots written, each followed by a heartbeat (for tests and benches).
        self.published = 0
        self._publisher: threading.Thread | None = None
        self.link = Link(options, on_connected=self._bind)
        self.metrics_address = metrics
        #: The metrics of the polls, when served (``metrics``).
        self.exporter: Exporter | None = None
        self.metrics_server: MetricsServer | None = None
        derive_alarms: Derive = _nothing_to_derive
        if metrics is not None:
            self.exporter = Exporter(config, sources)
            derive_alarms = derive(config, sources.kinds())
        self.poller = Poller(sources, config, self._deliver, derive_alarms)

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Collect until ``stop`` (or Ctrl-C)."""
        try:
            self.start()
            while not self._stop.wait(0.5):
                pass
        finally:
            self.close()

    def start(self) -> None:
        """Start polling and publishing (``ListenError``: the metrics address
        cannot be served; nothing is started then)."""
        if self.exporter is not None and self.metrics_address is not None:
            self.metrics_server = MetricsServer(self.exporter, *self.metrics_address)
            self.say(f"serving metrics at {self.metrics_server.url}")
        self.say(f"collecting for {self.options.where()}")
        self.link.start()
        self.poller.start()
        self._publisher = threading.Thread(target=self._publish_loop, name="publish", daemon=True)
        self._publisher.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.stop()
        self.poller.stop()
        if self._publisher is not None:
            self._publisher.join(WRITE_TIMEOUT + 2)
        self.link.close()
        if self.metrics_server is not None:
            self.metrics_server.close()
        self.sources.close()

    def say(self, line: str) -> None:
        """One line on the log (stderr), never a secret or a control character."""
        log_line(self._log, "collect", line)

    # ------------------------------------------------------- from the polls

    def _deliver(self, event: Event) -> None:
        if self.exporter is not None:
            self.exporter.deliver(event)
        if not isinstance(event, Polled):
            return
        result = event.result
        with self._lock:
            health = self._health.get(result.kind)
            if health is None:
                return
            changed = health.record(result, time.time())
            if result.snapshot is not None and health.ok_at is not None:
                self._pending[result.kind] = (result, health.ok_at)
        if changed:
            self.say(change_line(result))
        self._wake.set()

    # ----------------------------------------------------------- publishing

    async def _bind(self, client: Any) -> None:
        """After every (re)connection: find or make the buckets (snapshots,
        and the consoles' acknowledgements)."""
        bucket = self.options.bucket
        self._kv = await open_bucket(client, bucket, "xenon-console snapshots", create=True)
        await open_bucket(client, f"{bucket}{ACKS_SUFFIX}", "xenon-console acks", create=True)
        self._runs.failed()  # the bucket may not hold the base any more
        self._wake.set()

    def _publish_loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            self._wake.wait(max(0.0, last_beat + self.heartbeat_every - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            if not self.link.connected:
                if self.link.tried:
                    self._tell(f"NATS unreachable at {self.options.where()}: {self.link.error}")
                time.sleep(0.5)
                continue
            if self._kv is None:
                if self.link.setup_error is not None:
                    self._tell(f"cannot open the buckets: {self.link.setup_error}")
                time.sleep(0.5)
                continue
            try:
                written = self._publish_pending()
                self._write([(feed.HEARTBEAT_KEY, feed.pack_heartbeat(self._beat()))])
                self.published += written
                last_beat = time.monotonic()
            except Exception as exc:  # NATS went away mid-write: say it, try again
                self._tell(f"cannot write to NATS: {one_line(exc)}")
                time.sleep(0.5)
                self._wake.set()
                continue
            self._tell(f"publishing to {self.options.where()}")

    def _tell(self, line: str) -> None:
        """Say a state of the link once, not at every attempt."""
        if line != self._said:
            self._said = line
            self.say(line)

    def _publish_pending(self) -> int:
        """Write every pending snapshot; how many were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        written = 0
        try:
            for kind in [k for k in kinds.kinds() if k in pending]:
                result, at = pending[kind]
                assert result.snapshot is not None
                try:
                    self._publish(
                        kind, result.source, result.snapshot, feed.Stamp(self.identity.id, at)
                    )
                except TooLarge as exc:
                    # Said on every console (the kind's health), and the
                    # kinds after it go on: one snapshot too large for the
                    # server must not silence the whole feed.
                    self._published(kind, None, str(exc))
                else:
                    self._published(kind, at, None)
                    written += 1
                del pending[kind]
        finally:
            with self._lock:  # not written: still pending, unless a newer one came
                for kind, item in pending.items():
                    self._pending.setdefault(kind, item)
        return written

    def _publish(self, kind: Kind, source: str, snapshot: Snapshot, stamp: feed.Stamp) -> None:
        limit = self._max_payload()
        if isinstance(snapshot, RunsSnapshot):
            if limit is not None:  # the history's chunks fit the server
                self._runs.chunk_bytes = min(feed.CHUNK_BYTES, limit)
                self._runs.max_head_bytes = min(feed.MAX_HEAD_BYTES, limit)
            write = self._runs.plan(source, snapshot, stamp)
            largest = max(len(value) for _, value in write.puts)
            if limit is not None and largest > limit:
                self._runs.failed()
                raise TooLarge(_too_large(kind, largest, limit))
            try:
                self._write(write.puts)
            except BaseException:
                self._runs.failed()
                raise
            self._runs.done(write)
            if write.rebase:
                self._epochs = [*self._epochs, write.epoch][-2:]
                self._forget_old_chunks(keep=set(self._epochs))
        else:
            value = feed.pack_snapshot(source, snapshot, stamp)
            if limit is not None and len(value) > limit:
                raise TooLarge(_too_large(kind, len(value), limit))
            self._write([(feed.snapshot_key(kind), value)])

    def _max_payload(self) -> int | None:
        """The largest message the connected server takes (its INFO)."""
        limit = getattr(self.link.client, "max_payload", None)
        return limit if isinstance(limit, int) and limit > 0 else None

    def _published(self, kind: Kind, at: float | None, refused: str | None) -> None:
        """A kind's snapshot was written (``at``: its data's time) or refused."""
        with self._lock:
            health = self._health.get(kind)
            if health is None:
                return
            was = health.unpublished
            health.unpublished = refused
            if at is not None:
                health.published_at = at
        if refused != was:
            self.say(refused if refused is not None else f"{kind.value}: published again")

    def _forget_old_chunks(self, keep: set[str]) -> None:
        """Delete the chunks of every epoch but the newest two (a console may
        still be reading the one before)."""
        kv = self._kv

        async def forget() -> None:
            from nats.js.errors import NoKeysError

            try:
                keys = await kv.keys()
            except NoKeysError:
                return
            for key in keys:
                if feed.is_chunk_key(key) and key.split(".")[1] not in keep:
                    await kv.delete(key)

        try:
            self.link.call(forget, WRITE_TIMEOUT)
        except Exception as exc:  # old chunks only cost space: try at the next base
            self.say(f"could not delete old runs chunks: {one_line(exc)}")

    def _write(self, puts: list[tuple[str, bytes]]) -> None:
        kv = self._kv

        async def put_all() -> None:
            for key, value in puts:
                await kv.put(key, value)

        self.link.call(put_all, WRITE_TIMEOUT)

    def _beat(self) -> feed.Heartbeat:
        with self._lock:
            sources = {
                kind.value: (
                    feed.SourceHealth(h.backend, h.error, h.ok_at, h.polls)
                    if h.error is not None or h.unpublished is None
                    # Its last good poll is not in the bucket: the consoles
                    # have the one published last.
                    else feed.SourceHealth(h.backend, h.unpublished, h.published_at, h.polls)
                )
                for kind, h in self._health.items()
            }
        return dataclasses.replace(self.identity, at=time.time(), sources=sources)


class TooLarge(Exception):
    """A snapshot the NATS server would refuse (over its ``max_payload``)."""


def _too_large(kind: Kind, size: int, limit: int) -> str:
    return (
        f"{kind.value} not published: its snapshot is {size:,} bytes compressed, over"
        f" the NATS server's max_payload of {limit:,} bytes (raise max_payload in the"
        " server's config)"
    )


def _nothing_to_derive(result: Result) -> Derived:
    """The collector publishes snapshots; every console derives its own alarms."""
    return Derived(result.kind, result.snapshot, None)
