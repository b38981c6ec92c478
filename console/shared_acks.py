"""Acknowledgements shared by every console of a collector, in NATS JetStream.

A console fed by a ``nats`` backend keeps its acknowledgements in the
key-value bucket ``<bucket>-acks`` beside the collector's snapshots, so a
shifter's acknowledgement quiets the alarm on every console of the shift,
with who made it and when. Keys:

* ``ack.<hash of the occurrence>``: every note given for one occurrence of
  an alarm (who, what, when, how many things were wrong);
* ``open.<hash of the alarm key>``: when the alarm started, for an alarm
  that does not say it itself (``AckStore.started``): the first console to
  see it writes it, every console then uses that start, so all of them name
  the occurrence alike.

Every write is a compare-and-swap (``update`` with the revision read,
``create`` when there is none): two shifters acknowledging at once both
keep their notes; a write that lost the race reads again and merges. Writes
run in the link's thread: acknowledging never waits for the network. While
NATS is unreachable an acknowledgement holds in this console only, and the
console says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from backends.analysis.alarms import Alarm
from backends.natsfeed import feed
from backends.natsfeed.feed import ACKS_SUFFIX
from backends.natsfeed.link import Link, NatsOptions, one_line, open_bucket
from console.acks import Ack, AckStore
from console.config import Config

#: Tries of a compare-and-swap before giving up (each lost one re-reads).
CAS_TRIES = 20
#: A note, a name or a key longer than this is cut (the value stays small).
MAX_TEXT = 2000
#: A value longer than this is not an acknowledgement.
MAX_VALUE = 1 << 20


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def ack_key(occurrence: str) -> str:
    return f"ack.{_hash(occurrence)}"


def open_key(alarm_key: str) -> str:
    return f"open.{_hash(alarm_key)}"


def _time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ack_of(data: Any) -> Ack | None:
    """The acknowledgement an ``ack.*`` value says (every note in one), or
    None for a value that does not read as one."""
    try:
        notes = sorted(data["notes"], key=lambda n: str(n["at"]))
        if not notes:
            return None
        counts = [n.get("count") for n in notes]
        count = None
        if all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            count = max(counts)
        text = "; ".join(
            f"{str(n['by'])[:MAX_TEXT]}: {str(n.get('note') or '(no note)')[:MAX_TEXT]}"
            for n in notes
        )
        return Ack(str(data["occurrence"]), str(data["key"]), text, _time(notes[-1]["at"]), count)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class SharedAckStore(AckStore):
    """An ``AckStore`` whose acknowledgements and starts live in NATS."""

    def __init__(self, options: NatsOptions, *, name: str | None = None) -> None:
        super().__init__(None)
        self.name = (name or feed.os_user())[:MAX_TEXT]
        self.bucket = f"{options.bucket}{ACKS_SUFFIX}"
        self.where = dataclasses.replace(options, bucket=self.bucket).where()
        self._lock = threading.Lock()
        self._kv: Any = None
        #: Occurrence -> the ``ack.*`` revision it was read at.
        self._revisions: dict[str, int] = {}
        #: Alarm starts as the bucket holds them (by alarm key), and the
        #: alarm key of each ``open.*`` key.
        self._remote_open: dict[str, datetime] = {}
        self._open_keys: dict[str, str] = {}
        #: Compare-and-swaps that found another write first (and merged).
        self.lost_races = 0
        #: Why the bucket is not open (None once it is).
        self.bind_error: str | None = None
        self._link = Link(options, on_connected=self._keep_bound)
        self._link.start()

    # ------------------------------------------------------------- sharing

    async def _keep_bound(self, client: Any) -> None:
        """For as long as the connection lasts (the link starts this on each):
        open the bucket (retrying: it may be the collector's to make) and
        follow it."""
        while True:
            try:
                kv = await open_bucket(client, self.bucket, "xenon-console acks", create=True)
            except Exception as exc:  # no bucket and no right to make it: wait for one
                self.bind_error = f"cannot open bucket {self.bucket!r}: {one_line(exc)}"
                await asyncio.sleep(2.0)
                continue
            self.bind_error = None
            self._kv = kv
            try:
                await self._follow(kv)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watch broke: say so, and watch again
                self._kv = None
                self.bind_error = f"the watch of {self.bucket!r} failed: {one_line(exc)}"
                if self.on_error is not None:
                    self.on_error(f"Acknowledgements of other consoles: {self.bind_error}")
                await asyncio.sleep(2.0)

    async def _follow(self, kv: Any) -> None:
        watcher = await kv.watchall()
        async for entry in watcher:
            if entry is None:
                continue
            try:
                self._take(entry)
            except Exception:  # a hostile value: one key ignored, the sharing goes on
                continue

    def _take(self, entry: Any) -> None:
        key = str(entry.key)
        deleted = entry.operation in ("DEL", "PURGE") or not entry.value
        try:
            data = None if deleted else json.loads(bytes(entry.value)[:MAX_VALUE])
        except (ValueError, RecursionError):
            return
        with self._lock:
            if key.startswith("ack."):
                for occurrence in [o for o in self.acks if ack_key(o) == key]:
                    if deleted:
                        del self.acks[occurrence]
                        self._revisions.pop(occurrence, None)
                ack = ack_of(data) if data is not None else None
                if ack is not None and ack_key(ack.occurrence) == key:
                    self.acks[ack.occurrence] = ack
                    self._revisions[ack.occurrence] = int(entry.revision)
            elif key.startswith("open."):
                if deleted:
                    alarm_key = self._open_keys.pop(key, None)
                    if alarm_key is not None:
                        self._remote_open.pop(alarm_key, None)
                    return
                if not isinstance(data, dict):
                    return
                alarm_key = str(data.get("key"))
                try:
                    start = _time(data["start"])
                except (KeyError, ValueError):
                    return
                if open_key(alarm_key) != key:
                    return
                self._open_keys[key] = alarm_key
                self._remote_open[alarm_key] = start
                if alarm_key in self.open:
                    self.open[alarm_key] = start

    def _spawn(self, what: str, write: Callable[[Any], Any]) -> None:
        kv = self._kv
        if kv is None or not self._link.connected:
            return

        async def run() -> None:
            try:
                await write(kv)
            except Exception as exc:  # said to the user; the console keeps its own copy
                self.save_error = f"not shared with the other consoles: {one_line(exc)}"
                if self.on_error is not None:
                    self.on_error(f"{what} in this console only, {self.save_error}")

        self._link.spawn(run)

    async def _cas(self, kv: Any, key: str, change: Callable[[Any], Any]) -> None:
        """Read ``key``, write ``change(value)`` if nobody wrote in between;
        else read again (``CAS_TRIES`` times)."""
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        for _ in range(CAS_TRIES):
            try:
                entry = await kv.get(key)
                current, revision = json.loads(bytes(entry.value)), entry.revision
            except KeyNotFoundError:
                current, revision = None, None
            except (ValueError, RecursionError):
                current, revision = None, entry.revision  # garbage: replaced
            new = change(current)
            if new is None:
                return
            value = json.dumps(new, ensure_ascii=True).encode("ascii")
            try:
                if revision is None:
                    await kv.create(key, value)
                else:
                    await kv.update(key, value, last=revision)
                return
            except KeyWrongLastSequenceError:
                self.lost_races += 1
                continue  # somebody wrote first: merge with theirs
        raise RuntimeError(f"{key}: still contended after {CAS_TRIES} tries")

    # ---------------------------------------------------- the store's API

    def observe(self, alarms: Iterable[Alarm], now: datetime) -> None:
        alarms = list(alarms)
        with self._lock:
            before = set(self.open)
            super().observe(alarms, now)
            started = {}
            # Only an alarm without a start of its own needs the shared one.
            startless = {a.key for a in alarms if a.since is None}
            for key in (set(self.open) - before) & startless:
                remote = self._remote_open.get(key)
                if remote is not None:
                    self.open[key] = remote  # another console saw it first
                else:
                    started[key] = self.open[key]
        for key, start in started.items():

            def first(current: Any, key: str = key, start: datetime = start) -> Any:
                if isinstance(current, dict) and current.get("key") == key:
                    return None  # another console saw it first: the watch adopts it
                return {"key": key, "start": start.isoformat()}

            async def write(kv: Any, key: str = key, first: Callable[[Any], Any] = first) -> None:
                await self._cas(kv, open_key(key), first)

            self._spawn("Alarm start", write)
        for key in before - set(self.open):

            async def forget(kv: Any, key: str = key) -> None:
                await kv.delete(open_key(key))

            self._spawn("Alarm end", forget)

    def acknowledge(self, alarm: Alarm, note: str, at: datetime | None = None) -> Ack:
        at = at or datetime.now(UTC)
        occurrence = self.occurrence(alarm)
        mine = {"by": self.name, "note": note.strip()[:MAX_TEXT], "at": at.isoformat(),
                "count": alarm.count}  # fmt: skip

        def add(current: Any) -> Any:
            notes = []
            if isinstance(current, dict) and isinstance(current.get("notes"), list):
                notes = [n for n in current["notes"] if isinstance(n, dict)]
            if mine not in notes:
                notes.append(mine)
            return {"occurrence": occurrence, "key": alarm.key, "notes": notes}

        with self._lock:
            held = self.acks.get(occurrence)
            local = ack_of(add(None)) if held is None else None
            if local is None:  # others' notes and mine, until the watch has the merge
                assert held is not None
                local = Ack(
                    occurrence,
                    alarm.key,
                    f"{held.note}; {self.name}: {mine['note'] or '(no note)'}",
                    at,
                    alarm.count if held.count is None else max(held.count, alarm.count or 0),
                )
            self.acks[occurrence] = local
        self.save_error = self._unshared()
        self._spawn("Acknowledged", lambda kv: self._cas(kv, ack_key(occurrence), add))
        return local

    def unacknowledge(self, alarm: Alarm) -> None:
        occurrence = self.occurrence(alarm)
        with self._lock:
            if self.acks.pop(occurrence, None) is None:
                return
        self.save_error = self._unshared()

        async def withdraw(kv: Any) -> None:
            await kv.delete(ack_key(occurrence))

        self._spawn("Withdrawn", withdraw)

    def _unshared(self) -> str | None:
        if not self._link.connected:
            return f"not shared: NATS unreachable at {self.where} ({self._link.error})"
        if self._kv is None:
            return f"not shared: {self.bind_error or 'the bucket is not open yet'}"
        return None

    def save(self) -> str | None:
        return None  # every change is written as it is made

    def close(self) -> None:
        self._link.close()


def shared_store(config: Config, options: Mapping[str, object]) -> SharedAckStore:
    """The shared store of a console fed by the ``nats`` backend with these options."""
    from backends.natsfeed import OPTIONS

    return SharedAckStore(NatsOptions.from_options(options, known=OPTIONS), name=config.ack_name)
