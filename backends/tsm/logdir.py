"""Incremental reader of the uploader's directory of dsmc logs.

The directory holds one log per run and upload and only grows, with at most a
few logs being written at any time. Reading every log on every poll would
cost as much as the whole history; instead each file is remembered by inode,
size and modification time with the offset read so far and its parser: an
unchanged file costs one ``stat``, a growing one only its new bytes, and a
file rewritten or replaced (smaller, or another inode) is read again from the
start. A file that cannot be read is reported and skipped, and tried again
on the next scan.
"""

from __future__ import annotations

import codecs
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from backends.tsm.dsmc_log import DsmcLogParser, DsmcSummary

#: How much of a log is read per call to ``read`` (bounds memory per file).
CHUNK = 1 << 20


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
    parser: DsmcLogParser
    decoder: codecs.IncrementalDecoder
    run_number: int
    summary: DsmcSummary
    #: The LogFile handed out for the state above (the same object until the
    #: file changes, so callers can cache what they derive from it).
    log: LogFile | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    logs: tuple[LogFile, ...]
    #: Problems in words: unreadable logs, names that carry no run number.
    problems: tuple[str, ...]
    #: Bytes read from disk by this scan (0 when nothing changed).
    bytes_read: int


class LogDirectory:
    """Keeps what it read of every log in ``path`` between scans."""

    def __init__(self, path: Path, pattern: re.Pattern[str], tz: tzinfo = UTC) -> None:
        self.path = path
        self.pattern = pattern
        self.tz = tz
        self._files: dict[str, _Tracked] = {}
        self._lock = threading.Lock()

    def scan(self) -> Scan:
        """Read what changed since the last scan. Raises OSError if the directory is gone."""
        with self._lock:
            return self._scan()

    def _scan(self) -> Scan:
        problems: list[str] = []
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
                try:
                    tracked, n = self._update(name, st, int(match.group("run")))
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
        if unnamed:
            unnamed.sort()
            shown = ", ".join(repr(n) for n in unnamed[:3])
            more = f" and {len(unnamed) - 3} more" if len(unnamed) > 3 else ""
            problems.append(
                f"{len(unnamed)} file(s) in the log directory name no run: {shown}{more}"
            )
        logs.sort(key=lambda log: log.name)
        return Scan(tuple(logs), tuple(problems), read)

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
                codecs.getincrementaldecoder("utf-8")(errors="replace"),
                run,
                DsmcSummary(),
            )
        read = 0
        with open(self.path / name, "rb") as f:  # read-only: the console never writes
            f.seek(tracked.offset)
            while chunk := f.read(CHUNK):
                read += len(chunk)
                tracked.parser.feed(tracked.decoder.decode(chunk))
            tracked.offset = f.tell()
        tracked.inode, tracked.size, tracked.mtime_ns = st.st_ino, st.st_size, st.st_mtime_ns
        tracked.run_number = run
        tracked.summary = tracked.parser.result()
        tracked.log = None
        self._files[name] = tracked
        return tracked, read
