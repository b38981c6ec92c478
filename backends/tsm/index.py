"""The log directory's index: what was read of every finished log, kept on disk.

A console that starts reads the whole log directory once (26,762 logs of the
paper's history: 5-7 s); every later poll costs one ``stat`` per log. The
index carries that knowledge from one console to the next: for every
*finished* log (dsmc's summary read, no half line or half character pending)
its name, inode, size, modification time (ns), run number and summary. At the
next start a log whose inode, size and modification time are exactly those of
its entry is taken from the index without being opened; any other log (new,
grown, rewritten, touched) is read as before. So the first poll of a new
console is bounded by what changed since the index was written.

The index lives in the user's cache directory (``platformdirs``), one file
per log directory, pattern and time zone (the key is in the file name and in
the file), written atomically (a temporary file, then ``os.replace``) with
mode 0600. It is a cache: a missing, unreadable, corrupt, oversized or
foreign file (another directory's, or one not ours or writable by others),
or an entry that is not exactly well formed, costs only the reading of
those logs; it never fails a poll and never changes what a log says. An
entry is trusted only for a file that still has its inode, size and
modification time, and only for a name the pattern maps to the same run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import platformdirs

from backends.tsm.dsmc_log import DsmcSummary

#: Format of the file; another version is ignored (and rewritten).
VERSION = 2
#: An index larger than this is ignored (267,620 logs take about 110 MB).
MAX_BYTES = 256 * 1024 * 1024
#: Messages a summary keeps, and their length, as the parser keeps them at most.
MAX_MESSAGES = 5
MAX_TEXT = 65_536

_INT_FIELDS = {
    "objects_inspected",
    "objects_backed_up",
    "objects_failed",
    "bytes_inspected",
    "bytes_transferred",
    "logged_return_code",
}
_FLOAT_FIELDS = {
    "transfer_time_seconds",
    "network_rate_bps",
    "aggregate_rate_bps",
    "elapsed_seconds",
}
_COUNT_FIELDS = {"error_count", "warning_count", "lines"}
_TEXTS_FIELDS = {"volumes", "errors", "warnings"}
_FIELDS = tuple(f.name for f in fields(DsmcSummary))


@dataclass(frozen=True, slots=True)
class Entry:
    """A finished log as it was when the index was written."""

    inode: int
    size: int
    mtime_ns: int
    run_number: int
    summary: DsmcSummary


def default_path(log_dir: Path, pattern: str, tz: tzinfo) -> Path:
    """Where the index of this log directory, pattern and time zone is kept."""
    return (
        Path(platformdirs.user_cache_dir("xenon-console"))
        / f"tsm-{_key_digest(log_dir, pattern, tz)}.json"
    )


def _key(log_dir: Path, pattern: str, tz: tzinfo) -> dict[str, str]:
    return {"log_dir": str(log_dir.resolve()), "pattern": pattern, "timezone": str(tz)}


def _key_digest(log_dir: Path, pattern: str, tz: tzinfo) -> str:
    text = json.dumps(_key(log_dir, pattern, tz), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------- encoding


def _encode_summary(summary: DsmcSummary) -> list[Any]:
    out: list[Any] = []
    for name in _FIELDS:
        value = getattr(summary, name)
        if name == "started_at":
            # The wall-clock time dsmc printed and its fold, not an instant:
            # a time in a DST gap (which names no instant) reads back the same.
            value = None if value is None else [value.replace(tzinfo=None).isoformat(), value.fold]
        elif name in _TEXTS_FIELDS:
            value = list(value)
        out.append(value)
    return out


def _optional_int(value: object, tz: tzinfo) -> object:
    if value is None or type(value) is int:
        return value
    raise ValueError


def _optional_float(value: object, tz: tzinfo) -> object:
    if value is None:
        return None
    if (type(value) is float or type(value) is int) and math.isfinite(value):
        return float(value)
    raise ValueError


def _count(value: object, tz: tzinfo) -> object:
    if type(value) is int and value >= 0:
        return value
    raise ValueError


def _texts(limit: int | None) -> Callable[[object, tzinfo], object]:
    def check(value: object, tz: tzinfo) -> object:
        if value == []:
            return ()
        if (
            type(value) is list
            and (limit is None or len(value) <= limit)
            and all(type(v) is str and len(v) <= MAX_TEXT for v in value)
        ):
            return tuple(value)
        raise ValueError

    return check


def _time(value: object, tz: tzinfo) -> object:
    if value is None:
        return None
    if type(value) is list and len(value) == 2 and type(value[0]) is str and value[1] in (0, 1):
        if len(value[0]) > 40 or type(value[1]) is not int:
            raise ValueError
        naive = datetime.fromisoformat(value[0])  # ValueError when not one
        if naive.tzinfo is not None:
            raise ValueError
        return naive.replace(tzinfo=tz, fold=value[1])
    raise ValueError


def _checker(name: str) -> Callable[[object, tzinfo], object]:
    if name == "started_at":
        return _time
    if name in _INT_FIELDS:
        return _optional_int
    if name in _FLOAT_FIELDS:
        return _optional_float
    if name in _COUNT_FIELDS:
        return _count
    if name in _TEXTS_FIELDS:
        return _texts(None if name == "volumes" else MAX_MESSAGES)
    raise AssertionError(f"DsmcSummary field {name!r} has no checker in the index")


#: One checker per summary field, in the order of the fields (and of an entry).
_CHECKERS = tuple(_checker(name) for name in _FIELDS)


def storable(summary: DsmcSummary) -> bool:
    """Whether the index can keep this summary exactly (JSON has no inf: a
    log line with a 400-digit rate parses to one; that log is read instead)."""
    return all(
        value is None or math.isfinite(value)
        for value in (getattr(summary, name) for name in _FLOAT_FIELDS)
    )


def _decode_summary(data: object, tz: tzinfo) -> DsmcSummary | None:
    """The summary of an entry, or None if anything in it is not as written."""
    if type(data) is not list or len(data) != len(_CHECKERS):
        return None
    try:
        values = [check(value, tz) for check, value in zip(_CHECKERS, data, strict=True)]
    except (ValueError, OverflowError, OSError):
        return None
    summary = DsmcSummary(*values)  # type: ignore[arg-type]  # each checked above
    return summary if summary.complete else None


# ------------------------------------------------------------------ the file


class Index:
    """The entries of an index file, each decoded only when asked for."""

    def __init__(self, logs: Mapping[str, object], tz: tzinfo) -> None:
        self._logs = logs
        self._tz = tz

    def __len__(self) -> int:
        return len(self._logs)

    def match(self, name: str, inode: int, size: int, mtime_ns: int, run: int) -> Entry | None:
        """The entry of ``name`` if it is well formed and describes exactly
        this file (inode, size, modification time) and run."""
        item = self._logs.get(name)
        if type(item) is not list or len(item) != 5 or item[:4] != [inode, size, mtime_ns, run]:
            return None
        if not all(type(v) is int for v in item[:4]):  # True == 1: not a match
            return None
        summary = _decode_summary(item[4], self._tz)
        return None if summary is None else Entry(inode, size, mtime_ns, run, summary)

    def entries(self) -> dict[str, Entry]:
        """Every well-formed entry (for tests and tools)."""
        out = {}
        for name, item in self._logs.items():
            if type(item) is list and len(item) == 5:
                entry = self.match(name, *item[:4])
                if entry is not None:
                    out[name] = entry
        return out


EMPTY = Index({}, UTC)


def load(path: Path, log_dir: Path, pattern: str, tz: tzinfo) -> Index:
    """The index at ``path`` (empty when there is none usable)."""
    try:
        # Non-blocking: a FIFO put there must not hang the poll.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
                return EMPTY
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return EMPTY  # only a file of ours, that no one else may write
            data = json.loads(f.read(MAX_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return EMPTY
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or data.get("key") != _key(log_dir, pattern, tz)
        or data.get("fields") != list(_FIELDS)
        or not isinstance(data.get("logs"), dict)
    ):
        return EMPTY
    return Index(data["logs"], tz)


_TEMP_PREFIX = ".tsm-index-"
#: A temporary file this old is a write cut short (a console killed mid-write).
_LEFTOVER_SECONDS = 3600.0


def _remove_leftovers(folder: Path) -> None:
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(_TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > _LEFTOVER_SECONDS:
                        os.unlink(entry.path)


def save(path: Path, log_dir: Path, pattern: str, tz: tzinfo, entries: Mapping[str, Entry]) -> None:
    """Write the index atomically (raises OSError when it cannot)."""
    data = {
        "version": VERSION,
        "key": _key(log_dir, pattern, tz),
        "fields": list(_FIELDS),
        "logs": {
            name: [e.inode, e.size, e.mtime_ns, e.run_number, _encode_summary(e.summary)]
            for name, e in entries.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _remove_leftovers(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, separators=(",", ":"), allow_nan=False))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
