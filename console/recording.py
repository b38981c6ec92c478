"""Record every snapshot the console receives to a file, and read it back.

A recording is gzip-compressed JSON Lines. The first line is a header::

    {"format": "xenon-console-recording", "version": 1,
     "created": "2017-11-15T12:00:00+00:00", "meta": {...}}

and every further line is one ``Result``::

    {"t": 12.5, "kind": "runs", "source": "sim", "error": null, "snapshot": {...}}

``t`` is seconds since the recording started, ``snapshot`` the snapshot as
``backends.codec`` encodes it (or null when the fetch failed, with ``error``
saying why).

Runs snapshots are big (the full history holds 26,762 runs) and change
little from poll to poll, so they are written as deltas: the first runs
record of a source carries every run; a later one carries in ``snapshot``
only the runs that changed since the previous runs record of that source,
plus ``"delta": {"count": <runs in all>, "removed": [<run numbers>]}``. The
reader rebuilds the full snapshot, reusing the unchanged ``Run`` objects of
the previous frame. A runs snapshot whose run numbers are not strictly
ascending, or in which more than half the runs changed, is written in full.

The writer flushes the compressor (``Z_SYNC_FLUSH``) after every record, so a
recording cut short by a crash or a full disk reads back up to its last
complete record; ``read_recording`` returns what precedes the damage and
describes the damage in one line. Readers ignore record keys and model fields
they do not know (with a note); a change that older readers could not read
bumps ``version``. No Textual here.
"""

from __future__ import annotations

import bisect
import dataclasses
import gzip
import json
import math
import threading
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, Self

from backends import kinds
from backends.codec import CodecError, decode_json, encode
from backends.model import (
    Kind,
    Run,
    RunsSnapshot,
    Snapshot,
)
from console.safe_text import json_text

if TYPE_CHECKING:  # console.fetching pulls in the backends registry and Rich
    from console.fetching import Result

__all__ = [
    "FORMAT",
    "VERSION",
    "Frame",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "read_recording",
]

FORMAT = "xenon-console-recording"
#: Major version of the format: readers refuse recordings of a newer one.
VERSION = 1
#: zlib's default: about as small as 9 on this data, and much faster.
COMPRESS_LEVEL = 6
_CHUNK = 1 << 16
_MAX_REASON = 200


class RecordingError(Exception):
    """A file that is not a recording this version can read, or a writer misuse."""


# --------------------------------------------------------------------- writer


@dataclass(slots=True)
class _RunsBase:
    """The previous recorded runs snapshot of one source, for deltas."""

    #: The runs sequence as received (identity says "nothing changed").
    runs: Sequence[Run]
    by_number: dict[int, Run]


class RecordingWriter:
    """Appends ``Result``s to a new recording at ``path``.

    ``meta`` goes into the header as it is (values JSON cannot hold are
    written as their ``str``). Safe to call from several threads; each
    ``write`` is flushed to the OS before it returns. ``write`` raises
    ``CodecError`` for a snapshot holding values the codec cannot encode,
    leaving the recording as it was, and ``OSError`` when the file cannot be
    written.
    """

    def __init__(self, path: str | Path, *, meta: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records = 0
        self._last_t = 0.0
        self._runs_bases: dict[str, _RunsBase] = {}
        self._closed = False
        header = {
            "format": FORMAT,
            "version": VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "meta": dict(meta),
        }
        line = json_text(header, separators=(",", ":"), default=str)
        self._file: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        try:
            self._gz = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._file, compresslevel=COMPRESS_LEVEL
            )
            self._gz.write(line.encode() + b"\n")
            self._gz.flush()
        except BaseException:
            self._file.close()
            raise

    @property
    def records(self) -> int:
        """Records written so far (the header not counted)."""
        return self._records

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, result: Result, at: float) -> None:
        """Append ``result``, received ``at`` seconds after the recording
        started (a time earlier than the previous record's counts as that)."""
        with self._lock:
            if self._closed:
                raise RecordingError(f"recording {self.path} is closed")
            t = max(float(at), self._last_t) if math.isfinite(at) else self._last_t
            record: dict[str, Any] = {
                "t": round(t, 3),
                "kind": result.kind.value,
                "source": result.source,
                "error": result.error,
            }
            snapshot = result.snapshot
            new_base: _RunsBase | None = None
            if isinstance(snapshot, RunsSnapshot):
                record["snapshot"], delta, new_base = self._encode_runs(result.source, snapshot)
                if delta is not None:
                    record["delta"] = delta
            else:
                record["snapshot"] = None if snapshot is None else encode(snapshot)
            # Escaped like every JSON the console writes: `zcat night.rec` on a
            # terminal must not act on a control character from a backend.
            line = json_text(record, separators=(",", ":"))
            self._gz.write(line.encode() + b"\n")
            self._gz.flush()  # Z_SYNC_FLUSH: readable up to here, whatever happens next
            if isinstance(snapshot, RunsSnapshot):
                if new_base is None:
                    self._runs_bases.pop(result.source, None)
                else:
                    self._runs_bases[result.source] = new_base
            self._records += 1
            self._last_t = t

    def _encode_runs(
        self, source: str, snapshot: RunsSnapshot
    ) -> tuple[Any, dict[str, Any] | None, _RunsBase | None]:
        """The encoded snapshot (only the changed runs, for a delta), the
        delta (None for a full record) and the base for the next delta (None
        when the runs are not strictly ascending by number)."""
        runs = snapshot.runs
        base = self._runs_bases.get(source)
        if base is not None and runs is base.runs:
            delta = {"count": len(runs), "removed": []}
            return encode(dataclasses.replace(snapshot, runs=())), delta, base
        previous = base.by_number if base is not None else None
        by_number: dict[int, Run] = {}
        changed: list[Run] = []
        ascending = True
        last: int | None = None
        for run in runs:
            number = run.number
            if last is not None and not number > last:
                ascending = False
            last = number
            by_number[number] = run
            if previous is not None:
                old = previous.get(number)
                if old is None or (old is not run and old != run):
                    changed.append(run)
        new_base = _RunsBase(runs, by_number) if ascending else None
        if previous is None or new_base is None or 2 * len(changed) > len(by_number):
            return encode(snapshot), None, new_base
        removed = [n for n in previous if n not in by_number]
        delta = {"count": len(by_number), "removed": removed}
        return encode(dataclasses.replace(snapshot, runs=tuple(changed))), delta, new_base

    def close(self) -> None:
        """Finish the gzip stream and close the file; closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._gz.close()
            finally:
                self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------- reader


@dataclass(frozen=True, slots=True)
class Frame:
    """One recorded ``Result``, with its snapshot rebuilt in full."""

    #: Seconds since the recording started.
    t: float
    kind: Kind
    source: str
    error: str | None
    snapshot: Snapshot | None


@dataclass(slots=True, eq=False)
class Recording:
    """What ``read_recording`` found in a file."""

    version: int
    #: When the recording was started (ISO 8601), as its header says.
    created: str | None
    meta: dict[str, Any]
    #: Every readable record, in file order (times never go down).
    frames: list[Frame]
    #: One line describing where and how the file is damaged; None if intact.
    damage: str | None = None
    #: What was skipped as written by a newer version (unknown fields, kinds).
    notes: tuple[str, ...] = ()
    _index: dict[Kind, tuple[list[float], list[Frame]]] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def duration(self) -> float:
        """Seconds from the start to the last frame."""
        return self.frames[-1].t if self.frames else 0.0

    def state_at(self, t: float, *, with_snapshot: bool = False) -> dict[Kind, Frame]:
        """The latest frame of each kind at or before ``t`` (kinds without one
        are absent); with ``with_snapshot``, the latest that has a snapshot."""
        out: dict[Kind, Frame] = {}
        for kind, (times, frames) in self._by_kind(with_snapshot).items():
            i = bisect.bisect_right(times, t)
            if i:
                out[kind] = frames[i - 1]
        return out

    def _by_kind(self, with_snapshot: bool) -> dict[Kind, tuple[list[float], list[Frame]]]:
        if with_snapshot:
            return _index(f for f in self.frames if f.snapshot is not None)
        if self._index is None:
            self._index = _index(self.frames)
        return self._index


def _index(frames: Any) -> dict[Kind, tuple[list[float], list[Frame]]]:
    by_kind: dict[Kind, list[Frame]] = {}
    for frame in frames:
        by_kind.setdefault(frame.kind, []).append(frame)
    out = {}
    for kind, items in by_kind.items():
        items.sort(key=lambda f: f.t)  # stable; a no-op for what the writer writes
        out[kind] = ([f.t for f in items], items)
    return out


class _RecordError(ValueError):
    """A record that is valid JSON but not a valid record."""


#: The longest record read (uncompressed): the first, full runs snapshot of
#: 26,762 runs is 32 MB, of 267,620 runs 307 MB. A longer line is damage, not
#: a reason to read gigabytes into memory (a gzip bomb).
MAX_RECORD_BYTES = 512 << 20


class _Lines:
    """The lines of a (possibly damaged) stream, each without its newline.

    Reads with ``read1`` so that what decompresses before a truncation or a
    corruption is all delivered; afterwards ``failure`` says what stopped
    the reading (None at a clean end) and ``partial`` holds an unterminated
    last line.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.failure: str | None = None
        self.truncated = False
        self.partial = b""

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = []
        held = 0  # bytes in ``pending``
        while True:
            try:
                chunk = self._stream.read1(_CHUNK)
            except EOFError:
                self.failure, self.truncated = "unexpected end of gzip stream", True
                break
            except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
                self.failure = f"bad gzip data ({_reason(exc)})"
                break
            if not chunk:
                break
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                if end < 0:
                    if start < len(chunk):
                        pending.append(chunk[start:])
                        held += len(chunk) - start
                        if held > MAX_RECORD_BYTES:
                            self.failure = (
                                f"a record longer than {MAX_RECORD_BYTES >> 20} MB "
                                "(the limit of one record)"
                            )
                            self.partial = b""
                            return
                    break
                if held + end - start > MAX_RECORD_BYTES:
                    self.failure = (
                        f"a record longer than {MAX_RECORD_BYTES >> 20} MB "
                        "(the limit of one record)"
                    )
                    return
                pending.append(chunk[start:end])
                yield b"".join(pending)
                pending = []
                held = 0
                start = end + 1
        self.partial = b"".join(pending)


def read_recording(path: str | Path) -> Recording:
    """Read a recording, up to its damage if it has any.

    Raises ``RecordingError`` with one line when the file cannot be opened,
    is not a recording, or is of a newer version than this one reads.
    Uncompressed recordings (gunzipped to look inside) are read too.
    """
    path = Path(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {exc.strerror or exc}") from None
    with raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _Reader(path, _Lines(stream)).read()
        if magic[:1] == b"{":
            return _Reader(path, _Lines(raw)).read()
        what = "an empty file" if not magic else "not gzip-compressed JSON Lines"
        raise RecordingError(f"{path} is not a xenon-console recording ({what})")


class _Reader:
    def __init__(self, path: Path, lines: _Lines) -> None:
        self.path = path
        self.lines = lines
        self.notes: set[str] = set()
        self.unknown_kinds: Counter[str] = Counter()
        self.frames: list[Frame] = []
        #: Per source: the previous runs frame's runs and their index by number.
        self.bases: dict[str, tuple[tuple[Run, ...], dict[int, Run]]] = {}

    def read(self) -> Recording:
        it = iter(self.lines)
        header_line = next(it, None)
        if header_line is None:
            self._no_header()
        header = self._header(header_line)
        damage = None
        index = 0
        for line in it:
            if not line.strip():
                continue
            index += 1
            try:
                self._record(line)
            except (ValueError, CodecError) as exc:  # bad JSON, bad data, bad record
                damage = f"corrupt record {index:,}: {_reason(exc)}"
                break
            except RecursionError:
                damage = f"corrupt record {index:,}: nested too deep"
                break
        else:
            damage = self._ending(index)
        notes = sorted(self.notes)
        notes += [
            f"skipped {n:,} record(s) of unknown kind {kind!r} (written by a newer version?)"
            for kind, n in sorted(self.unknown_kinds.items())
        ]
        meta = header.get("meta")
        return Recording(
            version=header["version"],
            created=header.get("created") if isinstance(header.get("created"), str) else None,
            meta=meta if isinstance(meta, dict) else {},
            frames=self.frames,
            damage=damage,
            notes=tuple(notes),
        )

    def _no_header(self) -> NoReturn:
        lines = self.lines
        if lines.truncated or lines.partial.strip():
            raise RecordingError(
                f"{self.path} ends inside its header (truncated?): nothing to replay"
            )
        reason = lines.failure or "no header"
        raise RecordingError(f"{self.path} is not a xenon-console recording ({reason})")

    def _header(self, line: bytes) -> dict[str, Any]:
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise RecordingError(f"{self.path} is not a xenon-console recording (no header)")
        version = header.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise RecordingError(f"{self.path}: bad recording version {version!r}")
        if version > VERSION:
            raise RecordingError(
                f"{self.path} is a version {version} recording; this xenon-console reads "
                f"version {VERSION} and older: upgrade it to replay this file"
            )
        return header

    def _ending(self, index: int) -> str | None:
        """The damage at the end of the stream, if any (after ``index`` records)."""
        lines = self.lines
        partial = lines.partial
        if partial.strip():
            try:
                self._record(partial)  # a complete record that only lacks its newline
            except (ValueError, CodecError, RecursionError):
                reason = lines.failure or "last record incomplete"
                return (
                    f"recording truncated after {len(self.frames):,} records "
                    f"(at {self._at()}): {reason}"
                )
        if lines.failure is None:
            return None
        what = "truncated" if lines.truncated else "corrupt"
        return (
            f"recording {what} after {len(self.frames):,} records "
            f"(at {self._at()}): {lines.failure}"
        )

    def _at(self) -> str:
        return clock_text(self.frames[-1].t if self.frames else 0.0)

    def _record(self, line: bytes) -> None:
        record = decode_json(line, self.notes)
        if not isinstance(record, dict):
            raise _RecordError("not a JSON object")
        t = record.get("t")
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise _RecordError(f"bad time {t!r}")
        kind_name = record.get("kind")
        if not isinstance(kind_name, str):
            raise _RecordError(f"bad kind {kind_name!r}")
        if kind_name not in kinds.kinds():
            self.unknown_kinds[kind_name] += 1
            return
        kind = Kind(kind_name)
        source = record.get("source")
        if not isinstance(source, str):
            raise _RecordError(f"bad source {source!r}")
        error = record.get("error")
        if error is not None and not isinstance(error, str):
            raise _RecordError(f"bad error {error!r}")
        snapshot = record.get("snapshot")
        if snapshot is not None and not isinstance(snapshot, kinds.spec(kind).snapshot):
            raise _RecordError(f"{kind.value} record holds a {type(snapshot).__name__}")
        delta = record.get("delta")
        if isinstance(snapshot, RunsSnapshot):
            snapshot = self._runs(source, snapshot, delta)
        elif delta is not None:
            raise _RecordError("delta without a runs snapshot")
        # Checked above against the snapshot type of the kind's spec.
        self.frames.append(Frame(float(t), kind, source, error, snapshot))  # type: ignore[arg-type]

    def _runs(self, source: str, snapshot: RunsSnapshot, delta: Any) -> RunsSnapshot:
        runs = tuple(snapshot.runs)
        if delta is None:
            self.bases[source] = (runs, {run.number: run for run in runs})
            return snapshot
        if not isinstance(delta, dict):
            raise _RecordError("bad runs delta")
        count, removed = delta.get("count"), delta.get("removed", [])
        if isinstance(count, bool) or not isinstance(count, int) or not isinstance(removed, list):
            raise _RecordError("bad runs delta")
        base = self.bases.get(source)
        if base is None:
            raise _RecordError("runs delta without a full runs record before it")
        base_runs, base_by_number = base
        if not runs and not removed and count == len(base_runs):
            return dataclasses.replace(snapshot, runs=base_runs)  # nothing changed: share all
        by_number = dict(base_by_number)
        for number in removed:
            if by_number.pop(number, None) is None:
                raise _RecordError(f"runs delta removes unknown run {number!r}")
        for run in runs:
            by_number[run.number] = run
        rebuilt = tuple([by_number[n] for n in sorted(by_number)])
        if len(rebuilt) != count:
            raise _RecordError(f"runs delta rebuilds {len(rebuilt):,} runs, not {count:,}")
        self.bases[source] = (rebuilt, by_number)
        return dataclasses.replace(snapshot, runs=rebuilt)


def clock_text(seconds: float) -> str:
    """Seconds into a recording as HH:MM:SS."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
