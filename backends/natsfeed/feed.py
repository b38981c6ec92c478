"""What a collector writes to NATS JetStream and how a console reads it back.

Everything lives in one key-value bucket (default ``xenon-console``, one
value per key: ``history=1``):

* ``collector``: the heartbeat, JSON: the collector's identity (id, host,
  user, pid, version), when it started, when it wrote this (``at``, Unix
  seconds), how often it writes (``every``) and per kind its source's health
  as the collector saw it (backend, last error, time of the last good
  snapshot). Written after every poll and every ``every`` seconds.
* ``snap.<kind>``: the latest good snapshot of a kind (buffer, transfers,
  tape, jobs), encoded with ``backends.codec``.
* ``runs.<epoch>.<i>``: the runs history as *chunks*: the encoded list of
  every run, compressed, cut into pieces of at most ``CHUNK_BYTES``
  (NATS refuses a message over 1 MB by default, and 267,620 runs are
  about 6 MB compressed). An epoch is one such full copy.
* ``runs.head``: which epoch is the base and how many chunks it has, plus
  the *cumulative delta* since that base: the runs snapshot with only the
  runs that changed since the base, and the run numbers removed. A steady
  poll rewrites only the head (a few KB); when the delta outgrows
  ``MAX_HEAD_BYTES`` the collector writes a new epoch and points the head
  at it. Because the head holds every change since its base, its latest
  value is all a console needs: a console that connects mid-shift reads the
  chunks of the head's epoch and the head, and is current.

Chunked keys rather than JetStream's object store: a console's one watch of
the bucket delivers the current value of every key and then every update
(chunks are written before the head that names them, so they arrive
first), a steady poll costs one small message, and the head and the
snapshots share one consistent stream. The object store would need a get of
the whole history after every change of it.

Every value is zlib-compressed JSON and read as untrusted: a value that does
not decode is an error of that kind's pane, never of the console.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends import codec
from backends.model import Kind, Run, RunsSnapshot, Snapshot

#: The default bucket of snapshots.
DEFAULT_BUCKET = "xenon-console"
#: The consoles' acknowledgements are in the bucket ``<bucket>-acks``.
ACKS_SUFFIX = "-acks"
#: The format of every value; a reader refuses a newer one with a clear line.
VERSION = 1
HEARTBEAT_KEY = "collector"
RUNS_HEAD_KEY = "runs.head"
#: The largest piece of the runs history in one message.
CHUNK_BYTES = 512 * 1024
#: The largest head (compressed): beyond it the collector writes a new base.
MAX_HEAD_BYTES = 256 * 1024
#: The most a reader inflates of one value (a decompression bomb stops
#: there): a heartbeat, a snapshot or a head; a runs history may take
#: ``HISTORY_BYTES_PER_RUN`` a run of the count its head declares.
MAX_HEARTBEAT = 1 << 20
MAX_INFLATED = 64 << 20
HISTORY_BYTES_PER_RUN = 4096
#: More runs than this in a head is garbage.
MAX_RUNS = 10_000_000
#: Unix times outside (0, this) are garbage (this is the year 5138).
MAX_TIME = 1e11


class FeedError(ValueError):
    """A value in the bucket that this version cannot read (one line why)."""


def snapshot_key(kind: Kind) -> str:
    return f"snap.{kind.value}"


def chunk_key(epoch: str, index: int) -> str:
    return f"runs.{epoch}.{index}"


def is_chunk_key(key: str) -> bool:
    parts = key.split(".")
    return len(parts) == 3 and parts[0] == "runs" and parts[2].isdigit()


def pack(data: Any) -> bytes:
    """JSON (every non-ASCII character escaped), compressed."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return zlib.compress(text.encode("ascii"), 6)


def unpack(value: bytes, what: str, *, model: bool = False, limit: int | None = None) -> Any:
    """The JSON of a packed value, or ``FeedError`` naming ``what``; with
    ``model``, the model's values in it decoded in the same pass
    (``codec.decode_json``: the envelope stays a dict, its arrays lists).
    At most ``limit`` bytes (default ``MAX_INFLATED``) are inflated."""
    limit = MAX_INFLATED if limit is None else limit
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(value, limit)
        if inflater.unconsumed_tail:
            raise FeedError(f"{what}: more than {limit:,} bytes inflated")
        return codec.decode_json(text) if model else json.loads(text)
    except FeedError:
        raise
    except codec.CodecError as exc:
        raise FeedError(f"{what}: {exc}") from exc
    except (zlib.error, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise FeedError(f"{what}: not a packed JSON value ({type(exc).__name__})") from exc


def _count(value: Any, error: str, top: int | None = None) -> int:
    """A whole number >= 0 (and below ``top``), else ``FeedError(error)``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FeedError(error)
    if top is not None and value >= top:
        raise FeedError(error)
    return value


def _versioned(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FeedError(f"{what}: not a JSON object")
    version = data.get("v")
    if version != VERSION:
        raise FeedError(f"{what}: format version {version!r}, this console reads {VERSION}")
    return data


# ------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class Stamp:
    """Who published a value, and when its data reached that collector."""

    #: The collector's id (its heartbeat's).
    by: str
    #: Unix seconds on the collector's clock.
    at: float


def _time(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeedError(f"{what}: not a time")
    try:
        seconds = float(value)
    except OverflowError:
        raise FeedError(f"{what}: not a time") from None
    if not 0 < seconds < MAX_TIME:
        raise FeedError(f"{what}: not a time")
    return seconds


def _stamp(data: Mapping[str, Any], what: str) -> Stamp:
    by = data.get("by")
    if not isinstance(by, str):
        raise FeedError(f"{what}: bad 'by'")
    return Stamp(by, _time(data.get("at"), f"{what}: 'at'"))


def pack_snapshot(source: str, snapshot: Snapshot, stamp: Stamp) -> bytes:
    return pack(
        {
            "v": VERSION,
            "source": source,
            "by": stamp.by,
            "at": stamp.at,
            "snapshot": codec.encode(snapshot),
        }
    )


def unpack_snapshot(value: bytes, kind: Kind) -> tuple[Stamp, Snapshot]:
    """(who published it and when, the snapshot) of a ``snap.<kind>`` value."""
    from backends import kinds

    what = snapshot_key(kind)
    data = _versioned(unpack(value, what, model=True), what)
    snapshot = data.get("snapshot")
    expected = kinds.spec(kind).snapshot
    if not isinstance(snapshot, expected):
        raise FeedError(f"{what}: holds a {type(snapshot).__name__}, not a {expected.__name__}")
    return _stamp(data, what), snapshot  # type: ignore[return-value]


# ------------------------------------------------------------------ heartbeat


@dataclass(frozen=True)
class SourceHealth:
    """A kind's source as the collector last saw it."""

    backend: str
    #: The error of its last poll (already redacted by the collector), or None.
    error: str | None
    #: When its last good snapshot arrived (Unix seconds), None if never.
    ok_at: float | None
    #: Polls of its backend so far (answered or not).
    polls: int = 0


@dataclass(frozen=True)
class Heartbeat:
    id: str
    host: str
    user: str
    pid: int
    version: str
    started: float
    #: When this heartbeat was written (Unix seconds, the collector's clock).
    at: float
    #: Seconds between heartbeats.
    every: float
    sources: Mapping[str, SourceHealth] = field(default_factory=dict)

    def who(self) -> str:
        return f"collector {self.user}@{self.host} pid {self.pid}"


def os_user() -> str:
    """Who runs this process: the collector's heartbeat and an ack's author."""
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container): the number then
        return str(os.getuid())


def pack_heartbeat(beat: Heartbeat) -> bytes:
    data = dataclasses.asdict(beat)
    data["v"] = VERSION
    return pack(data)


def unpack_heartbeat(value: bytes) -> Heartbeat:
    what = HEARTBEAT_KEY
    data = _versioned(unpack(value, what, limit=MAX_HEARTBEAT), what)

    def text(key: str, source: Mapping[str, Any] = data) -> str:
        v = source.get(key)
        if not isinstance(v, str):
            raise FeedError(f"{what}: bad {key!r}")
        return v[:200]

    every = data.get("every")
    if isinstance(every, bool) or not isinstance(every, int | float) or not 0.1 <= every <= 3600:
        raise FeedError(f"{what}: bad 'every'")
    sources: dict[str, SourceHealth] = {}
    raw = data.get("sources")
    if not isinstance(raw, dict) or len(raw) > 100:
        raise FeedError(f"{what}: bad 'sources'")
    for kind, health in raw.items():
        if not isinstance(health, dict):
            raise FeedError(f"{what}: bad source {str(kind)[:40]!r}")
        error = health.get("error")
        ok_at = health.get("ok_at")
        sources[str(kind)] = SourceHealth(
            text("backend", health),
            error[:2000] if isinstance(error, str) else None,
            _time(ok_at, f"{what}: 'ok_at'") if ok_at is not None else None,
            _count(health.get("polls", 0), f"{what}: bad 'polls'", 1 << 62),
        )
    return Heartbeat(
        text("id"),
        text("host"),
        text("user"),
        _count(data.get("pid"), f"{what}: bad 'pid'", 1 << 31),
        text("version"),
        _time(data.get("started"), f"{what}: 'started'"),
        _time(data.get("at"), f"{what}: 'at'"),
        float(every),
        sources,
    )


# ----------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunsWrite:
    """What to write to the bucket for one runs snapshot, in order."""

    #: (key, value): the chunks of a new base first (if any), the head last.
    puts: list[tuple[str, bytes]]
    #: Whether this write starts a new epoch.
    rebase: bool
    epoch: str


class RunsPublisher:
    """The collector's side: turns each runs snapshot into the keys to write.

    ``plan`` says what to write; ``done`` is called once it was written,
    ``failed`` when it was not (the next plan then writes a new base). Runs
    are compared by their versions (``run_index.Versioned``: the simulator
    tells what each run is without building it), so a steady poll builds
    and encodes only the runs that changed.
    """

    def __init__(
        self,
        new_epoch: Callable[[], str],
        *,
        chunk_bytes: int = CHUNK_BYTES,
        max_head_bytes: int = MAX_HEAD_BYTES,
    ) -> None:
        self._new_epoch = new_epoch
        self.chunk_bytes = chunk_bytes
        self.max_head_bytes = max_head_bytes
        #: The base in the bucket: its epoch and chunk count (None: no base
        #: to write a delta against).
        self.epoch: str | None = None
        self.chunks = 0
        #: The base's version of every run, by number, and what they are
        #: versions of.
        self._base: dict[int, object] = {}
        self._base_source: object = None
        self._pending: tuple[str, int, dict[int, object] | None, object] | None = None

    def plan(self, source: str, snapshot: RunsSnapshot, stamp: Stamp) -> RunsWrite:
        if self.epoch is not None:
            head = self._head(source, snapshot, stamp)
            if head is not None:
                self._pending = None
                return RunsWrite([(RUNS_HEAD_KEY, head)], False, self.epoch)
        return self._rebase(source, snapshot, stamp)

    def _head(self, source: str, snapshot: RunsSnapshot, stamp: Stamp) -> bytes | None:
        from backends.analysis.run_index import Versioned, versions_of

        runs = snapshot.runs
        key = runs.source_key if isinstance(runs, Versioned) else None
        if key is not self._base_source:
            return None
        base = self._base
        seen: set[int] = set()
        changed: list[Run] = []
        for i, (number, version) in enumerate(versions_of(runs)):
            if number in seen:
                return None  # twins by number: only a full copy keeps both
            seen.add(number)
            old = base.get(number, _MISSING)
            if old is version or old == version:
                continue
            changed.append(version if isinstance(version, Run) else runs[i])
            if len(changed) * 8 > len(base) + 64:
                return None  # a fresh base is cheaper than this delta
        removed = [n for n in base if n not in seen]
        assert self.epoch is not None
        head = self._pack_head(
            source, snapshot, stamp, changed, removed, len(seen), self.epoch, self.chunks
        )
        return head if len(head) <= self.max_head_bytes else None

    def _pack_head(
        self,
        source: str,
        snapshot: RunsSnapshot,
        stamp: Stamp,
        changed: Sequence[Run],
        removed: Sequence[int],
        count: int,
        epoch: str,
        chunks: int,
    ) -> bytes:
        return pack(
            {
                "v": VERSION,
                "source": source,
                "by": stamp.by,
                "at": stamp.at,
                "epoch": epoch,
                "chunks": chunks,
                "count": count,
                "removed": list(removed),
                "snapshot": codec.encode(dataclasses.replace(snapshot, runs=tuple(changed))),
            }
        )

    def _rebase(self, source: str, snapshot: RunsSnapshot, stamp: Stamp) -> RunsWrite:
        from backends.analysis.run_index import Versioned, versions_of

        runs = snapshot.runs
        epoch = self._new_epoch()
        listed = list(runs)
        body = pack({"v": VERSION, "runs": codec.encode(listed)})
        pieces = [body[i : i + self.chunk_bytes] for i in range(0, len(body), self.chunk_bytes)]
        head = self._pack_head(source, snapshot, stamp, (), (), len(listed), epoch, len(pieces))
        puts = [(chunk_key(epoch, i), piece) for i, piece in enumerate(pieces)]
        puts.append((RUNS_HEAD_KEY, head))
        by_number = dict(versions_of(runs))
        # Twins: no delta against this base (every later poll writes a new one).
        versions = by_number if len(by_number) == len(listed) else None
        key = runs.source_key if isinstance(runs, Versioned) else None
        self._pending = (epoch, len(pieces), versions, key)
        return RunsWrite(puts, True, epoch)

    def done(self, write: RunsWrite) -> None:
        """``write`` reached the bucket."""
        pending, self._pending = self._pending, None
        if not write.rebase or pending is None or pending[0] != write.epoch:
            return
        epoch, self.chunks, versions, self._base_source = pending
        self.epoch = epoch if versions is not None else None
        self._base = versions or {}

    def failed(self) -> None:
        """A write did not reach the bucket: the next plan writes a new base."""
        self._pending = None
        self.epoch = None
        self._base, self._base_source = {}, None


_MISSING = object()


@dataclass
class RunsHead:
    source: str
    stamp: Stamp
    epoch: str
    chunks: int
    count: int
    removed: list[int]
    #: The snapshot with only the runs changed since the base.
    delta: RunsSnapshot


def unpack_runs_head(value: bytes) -> RunsHead:
    what = RUNS_HEAD_KEY
    data = _versioned(unpack(value, what, model=True), what)
    epoch, removed = data.get("epoch"), data.get("removed")
    if not isinstance(epoch, str) or not epoch:
        raise FeedError(f"{what}: bad epoch")
    chunks, count = (
        _count(data.get(name), f"{what}: bad {name!r}") for name in ("chunks", "count")
    )
    if not isinstance(removed, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in removed
    ):
        raise FeedError(f"{what}: bad 'removed'")
    snapshot = data.get("snapshot")
    if not isinstance(snapshot, RunsSnapshot):
        raise FeedError(f"{what}: holds a {type(snapshot).__name__}, not a RunsSnapshot")
    source = data.get("source")
    return RunsHead(
        source if isinstance(source, str) else "-",
        _stamp(data, what),
        epoch,
        chunks,
        count,
        removed,
        snapshot,
    )


class RunsAssembler:
    """The console's side: the full runs snapshot from a head and its chunks.

    Keeps the decoded base of the current epoch, so a new head of the same
    epoch costs only its delta; a run equal to one already held is the same
    object (the run index then reuses its facts). A base holding two runs of
    one number (twin documents: a problem the runs pane must show) is given
    back as it is; the collector writes no delta against such a base.
    """

    def __init__(self) -> None:
        self.epoch: str | None = None
        self._base: tuple[Run, ...] = ()
        #: The base's runs by number, made once per epoch (None: twins).
        self._base_by_number: dict[int, Run] | None = {}
        #: The runs of the last snapshot given back, by number (for reuse).
        self._held: dict[int, Run] = {}

    def assemble(self, head: RunsHead, chunk: Callable[[str], bytes | None]) -> RunsSnapshot:
        _check_runs(head.delta.runs, RUNS_HEAD_KEY)
        if head.epoch != self.epoch:
            self._base = self._read_base(head, chunk)
            by_number = {run.number: run for run in self._base}
            self._base_by_number = by_number if len(by_number) == len(self._base) else None
            self.epoch = head.epoch
        if not head.delta.runs and not head.removed:
            runs = self._base
            held = self._base_by_number
        else:
            if self._base_by_number is None:
                raise FeedError("runs: a delta against a history with twin runs")
            held = dict(self._base_by_number)
            for number in head.removed:
                held.pop(number, None)
            for run in head.delta.runs:
                held[run.number] = self._reuse(run)
            runs = tuple(held[n] for n in sorted(held))
        if len(runs) != head.count:
            raise FeedError(
                f"runs: the head names {head.count:,} runs, its data holds {len(runs):,}"
            )
        self._held = held if held is not None else {run.number: run for run in runs}
        return dataclasses.replace(head.delta, runs=runs)

    def _reuse(self, run: Run) -> Run:
        old = self._held.get(run.number)
        return old if old is not None and old == run else run

    def _read_base(self, head: RunsHead, chunk: Callable[[str], bytes | None]) -> tuple[Run, ...]:
        pieces = []
        for i in range(head.chunks):
            piece = chunk(chunk_key(head.epoch, i))
            if piece is None:
                raise FeedError(f"runs: piece {i + 1} of {head.chunks} of the history is missing")
            pieces.append(piece)
        what = f"runs history {head.epoch}"
        limit = HISTORY_BYTES_PER_RUN * head.count + (1 << 20)
        data = _versioned(unpack(b"".join(pieces), what, model=True, limit=limit), what)
        runs = data.get("runs")
        if not isinstance(runs, list):
            raise FeedError(f"{what}: not a list of runs")
        _check_runs(runs, what)
        return tuple(self._reuse(run) for run in runs)


def _check_runs(runs: Sequence[Any], what: str) -> None:
    """Runs with whole numbers (the delta's and the console's ordering rest on them)."""
    for run in runs:
        if not isinstance(run, Run):
            raise FeedError(f"{what}: holds a {type(run).__name__} among the runs")
        if isinstance(run.number, bool) or not isinstance(run.number, int):
            raise FeedError(f"{what}: a run numbered {str(run.number)[:40]!r}")
