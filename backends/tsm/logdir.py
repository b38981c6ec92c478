"""Incremental reader of the uploader's directory of dsmc logs.

The directory holds one log per run and upload and only grows, with at most a
few logs being written at any time. Reading every log on every poll would
cost as much as the whole history; instead each file is remembered by inode,
size and modification time with the offset read so far and its parser: an
unchanged file costs one ``stat``, a growing one only its new bytes, and a
file rewritten or replaced (smaller, or another inode) is read again from the
start. A file that cannot be read is reported and skipped, and tried again
on the next scan.

With an index (``backends/tsm/index.py``) the finished logs are remembered
across consoles too: the first scan takes every log whose inode, size and
modification time are those of its index entry from the index, and reads
only the others. The index is written after the first scan and then, when
logs finished or went, at most every ``INDEX_EVERY`` seconds (and at
``close``).
"""

from __future__ import annotations

import codecs
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from backends.tsm import index
from backends.tsm.dsmc_log import DsmcLogParser, DsmcSummary

#: How much of a log is read per call to ``read`` (bounds memory per file).
CHUNK = 1 << 20
#: Seconds between two writes of the index while logs keep finishing.
INDEX_EVERY = 300.0


@dataclass(frozen=True, slots=True)
class LogFile:
    """One upload's log as read so far."""

    name: str
    run_number: int
    modified_at: datetime
    summary: DsmcSummary


@dataclass(slots=True)
class _Tracked:
    inode: int
    size: int
    mtime_ns: int
    offset: int
    #: None for a log taken from the index (made when the log grows).
    parser: DsmcLogParser | None
    decoder: codecs.IncrementalDecoder
    run_number: int
    summary: DsmcSummary
    #: The LogFile handed out for the state above (the same object until the
    #: file changes, so callers can cache what they derive from it).
    log: LogFile | None = None

    @property
    def finished(self) -> bool:
        """What the index may keep: a finished log read to a line's end
        (nothing pending in the parser or the decoder)."""
        return (
            self.summary.complete
            and (self.parser is None or self.parser.idle)
            and self.decoder.getstate()[0] == b""
            and self.offset == self.size
        )

    @property
    def identity(self) -> tuple[int, int, int]:
        return (self.inode, self.size, self.mtime_ns)


@dataclass(frozen=True, slots=True)
class Scan:
    logs: tuple[LogFile, ...]
    #: Problems in words: unreadable logs, names that carry no run number.
    problems: tuple[str, ...]
    #: Bytes read from disk by this scan (0 when nothing changed).
    bytes_read: int
    #: Logs taken from the index, not read (only the first scan has any).
    from_index: int = 0


class LogDirectory:
    """Keeps what it read of every log in ``path`` between scans."""

    def __init__(
        self,
        path: Path,
        pattern: re.Pattern[str],
        tz: tzinfo = UTC,
        *,
        index_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.pattern = pattern
        self.tz = tz
        self.index_path = index_path
        self._clock = clock
        self._files: dict[str, _Tracked] = {}
        self._lock = threading.Lock()
        #: The index read at the first scan, until it is over.
        self._seed: index.Index | None = None
        #: The logs the index file holds now (name: inode, size, mtime), or
        #: None when it must be written.
        self._written: dict[str, tuple[int, int, int]] | None = None
        self._written_at = -INDEX_EVERY
        #: Logs were read or went since the index was last written.
        self._dirty = False
        self._scans = 0
        self._closing: threading.Thread | None = None

    def scan(self) -> Scan:
        """Read what changed since the last scan. Raises OSError if the directory is gone."""
        with self._lock:
            first = self._scans == 0
            if first and self.index_path is not None:
                self._seed = index.load(self.index_path, self.path, self.pattern.pattern, self.tz)
            result = self._scan()
            if first and self._seed is not None:
                if result.from_index == len(self._seed):  # the file is exactly these
                    self._written = {
                        name: t.identity for name, t in self._files.items() if t.parser is None
                    }
                self._seed = None
            self._scans += 1
            if self.index_path is not None and not first:
                # Not in the first poll, the one a shifter waits for.
                self._save_index(force=self._scans == 2)
            return result

    def close(self) -> None:
        """Write the index if logs finished or went since it was last written,
        in a thread of its own: closing (the console's `q`) never waits for
        it, nor for a scan still running (then the index stays as it was).
        The thread is not a daemon: the process ends once it is written."""
        if self.index_path is None or not self._scans:
            return
        self._closing = threading.Thread(target=self._save_at_close, name="tsm-index", daemon=False)
        self._closing.start()

    def wait_closed(self, timeout: float | None = None) -> None:
        """Wait for the index written at ``close`` (one-shot tools, tests)."""
        if self._closing is not None:
            self._closing.join(timeout)

    def _save_at_close(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._save_index(force=True)
        finally:
            self._lock.release()

    def _save_index(self, force: bool) -> None:
        if not self._dirty and self._written is not None:
            return
        if not force and self._clock() - self._written_at < INDEX_EVERY:
            return
        finished = {
            name: t for name, t in self._files.items() if t.finished and index.storable(t.summary)
        }
        identities = {name: t.identity for name, t in finished.items()}
        self._dirty = False
        if identities == self._written or self.index_path is None:
            return
        entries = {
            name: index.Entry(t.inode, t.size, t.mtime_ns, t.run_number, t.summary)
            for name, t in finished.items()
        }
        self._written_at = self._clock()  # a failed write waits as long to try again
        try:
            index.save(self.index_path, self.path, self.pattern.pattern, self.tz, entries)
        except (OSError, ValueError):
            self._dirty = True  # tried again after INDEX_EVERY, or at close
            return  # a cache: the next console reads those logs itself
        self._written = identities

    def _scan(self) -> Scan:
        problems: list[str] = []
        seeded = 0
        unnamed: list[str] = []
        seen: set[str] = set()
        logs: list[LogFile] = []
        read = 0
        with os.scandir(self.path) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    continue  # removed while we looked
                match = self.pattern.search(name)
                if match is None:
                    unnamed.append(name)
                    continue
                seen.add(name)
                run = int(match.group("run"))
                if self._seed is not None and name not in self._files:
                    tracked = self._from_index(name, st, run)
                    if tracked is not None:
                        seeded += 1
                        self._files[name] = tracked
                try:
                    tracked, n = self._update(name, st, run)
                except OSError as exc:
                    self._files.pop(name, None)
                    problems.append(
                        f"log {name!r} unreadable: {exc.strerror or type(exc).__name__}"
                    )
                    continue
                read += n
                if tracked.log is None:
                    tracked.log = LogFile(
                        name,
                        tracked.run_number,
                        datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
                        tracked.summary,
                    )
                logs.append(tracked.log)
        for gone in set(self._files) - seen:
            del self._files[gone]
            self._dirty = True
        if unnamed:
            unnamed.sort()
            shown = ", ".join(repr(n) for n in unnamed[:3])
            more = f" and {len(unnamed) - 3} more" if len(unnamed) > 3 else ""
            problems.append(
                f"{len(unnamed)} file(s) in the log directory name no run: {shown}{more}"
            )
        logs.sort(key=lambda log: log.name)
        return Scan(tuple(logs), tuple(problems), read, seeded)

    def _from_index(self, name: str, st: os.stat_result, run: int) -> _Tracked | None:
        """The tracked state of a log its index entry describes exactly."""
        assert self._seed is not None
        entry = self._seed.match(name, st.st_ino, st.st_size, st.st_mtime_ns, run)
        if entry is None:
            return None
        return _Tracked(
            entry.inode, entry.size, entry.mtime_ns, entry.size, None, _DECODER, run, entry.summary
        )

    def _update(self, name: str, st: os.stat_result, run: int) -> tuple[_Tracked, int]:
        tracked = self._files.get(name)
        if tracked is not None and (tracked.inode, tracked.size, tracked.mtime_ns) == (
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
        ):
            return tracked, 0
        if tracked is None or tracked.inode != st.st_ino or st.st_size < tracked.offset:
            tracked = _Tracked(
                st.st_ino,
                0,
                0,
                0,
                DsmcLogParser(self.tz),
                _decoder(),
                run,
                DsmcSummary(),
            )
        if tracked.parser is None:  # from the index: resume it
            tracked.parser = DsmcLogParser.resume(tracked.summary, self.tz)
            tracked.decoder = _decoder()
        parser = tracked.parser
        read = 0
        self._dirty = True
        with open(self.path / name, "rb") as f:  # read-only: the console never writes
            f.seek(tracked.offset)
            while chunk := f.read(CHUNK):
                read += len(chunk)
                parser.feed(tracked.decoder.decode(chunk))
            tracked.offset = f.tell()
        tracked.inode, tracked.size, tracked.mtime_ns = st.st_ino, st.st_size, st.st_mtime_ns
        tracked.run_number = run
        tracked.summary = parser.result()
        tracked.log = None
        self._files[name] = tracked
        return tracked, read


def _decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")(errors="replace")


#: The decoder of every log taken from the index: never fed (a log that grows
#: gets its own, with its parser).
_DECODER = _decoder()
