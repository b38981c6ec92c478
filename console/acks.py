"""Acknowledged alarms, kept per occurrence and across restarts.

An alarm's *occurrence* is its key plus the time it started: the alarm's own
``since`` when it has one, else the first time the console saw it active
(remembered in the state file, so a restart keeps it). An acknowledgement
belongs to one occurrence: when the alarm clears and fires again, or its
``since`` moves (a newer failure), the new occurrence is not hidden by the
old acknowledgement.

The state lives in a small JSON file in the user's data directory, written
atomically. A corrupt file (any content: bytes that are not UTF-8, JSON nested
too deep, the wrong shapes, more than ``MAX_BYTES``) is moved aside with a
warning, never fatal: the console starts with no acknowledgements rather than
not at all. A file that cannot be read, or a corrupt one that could not be
moved aside, is never replaced: acknowledgements are then kept in memory only,
and saying one says it could not be saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from backends.analysis.alarms import Alarm

if TYPE_CHECKING:
    from console.config import Config

STATE_VERSION = 1
#: A state file larger than this is corrupt (a real one is a few kB).
MAX_BYTES = 1 << 20
#: Acknowledgements of occurrences not seen for this long are forgotten.
KEEP = timedelta(days=30)


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("xenon-console")) / "acks.json"


@dataclass(frozen=True, slots=True)
class Ack:
    occurrence: str
    key: str
    note: str
    #: Wall-clock time of the acknowledgement.
    acked_at: datetime
    #: How many things were wrong when acknowledged (``Alarm.count``): the
    #: acknowledgement covers that many, no more.
    count: int | None = None


class AckStore:
    """Acknowledgements and open occurrences; ``path=None`` keeps them in memory."""

    #: Told (from another thread) when an acknowledgement did not reach the
    #: other consoles it is shared with (``SharedAckStore``; this one's are
    #: this console's, and a failed save says so itself).
    on_error: Callable[[str], None] | None = None

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.acks: dict[str, Ack] = {}
        #: key -> start of its current occurrence (for alarms without ``since``).
        self.open: dict[str, datetime] = {}
        #: One line when the state file could not be read, for the user.
        self.load_error: str | None = None
        #: One line when the last save failed (or saving is off), else None.
        self.save_error: str | None = None
        #: Why the file must not be written (it is there but unreadable).
        self._keep_file: str | None = None
        #: Acknowledgements withdrawn here, so a merge on save does not revive them.
        self._removed: set[str] = set()
        if path is not None:
            self._load(path)

    # ------------------------------------------------------------ identity

    def occurrence(self, alarm: Alarm) -> str:
        """Key, start and severity: an alarm that gets worse is a new occurrence."""
        start = self.started(alarm)
        return f"{alarm.key}@{start.isoformat() if start else '?'}#{alarm.severity.name}"

    def started(self, alarm: Alarm) -> datetime | None:
        """When the alarm started: its own ``since``, else when it was first seen."""
        return alarm.since or self.open.get(alarm.key)

    def observe(self, alarms: Iterable[Alarm], now: datetime) -> None:
        """Track which alarms are active: start occurrences, close cleared ones."""
        active = {a.key for a in alarms}
        changed = False
        for key in active - set(self.open):
            self.open[key] = now
            changed = True
        for key in set(self.open) - active:
            del self.open[key]
            changed = True
        if changed:
            self.save()

    # ---------------------------------------------------------------- acks

    def ack_for(self, alarm: Alarm) -> Ack | None:
        """The acknowledgement that quiets this alarm now, if any: of its
        occurrence, and for no fewer things than are wrong now (24 tape copies
        acknowledged, 25 failed: loud again)."""
        ack = self.acks.get(self.occurrence(alarm))
        if ack is None:
            return None
        if alarm.count is not None and ack.count is not None and alarm.count > ack.count:
            return None
        return ack

    def acknowledge(self, alarm: Alarm, note: str, at: datetime | None = None) -> Ack:
        ack = Ack(
            self.occurrence(alarm), alarm.key, note.strip(), at or datetime.now(UTC), alarm.count
        )
        self.acks[ack.occurrence] = ack
        self.save()
        return ack

    def unacknowledge(self, alarm: Alarm) -> None:
        occurrence = self.occurrence(alarm)
        if self.acks.pop(occurrence, None) is not None:
            self._removed.add(occurrence)
            self.save()

    # ------------------------------------------------------------- storage

    def close(self) -> None:
        """Let go of what the store holds (nothing here: each save writes the file whole)."""

    def save(self) -> str | None:
        """Write the state file; the reason it was not written, or None."""
        self.save_error = None
        if self.path is None:
            return None
        if self._keep_file is not None:
            self.save_error = f"not saved: {self._keep_file}"
            return self.save_error
        # Another console of the same account may have acknowledged meanwhile:
        # merge its acknowledgements in rather than overwrite them.
        if self.path.exists() or self.path.is_symlink():
            other = AckStore(None)
            error = other._read(self.path)
            if error is not None and not error.startswith("corrupt"):
                self.save_error = f"not saved: {error}"
                return self.save_error
            for occurrence, ack in other.acks.items():
                if occurrence not in self._removed:
                    self.acks.setdefault(occurrence, ack)
        horizon = datetime.now(UTC) - KEEP
        self.acks = {k: a for k, a in self.acks.items() if a.acked_at >= horizon}
        data = {
            "version": STATE_VERSION,
            "acks": [
                {
                    "occurrence": a.occurrence,
                    "key": a.key,
                    "note": a.note,
                    "acked_at": a.acked_at.isoformat(),
                    "count": a.count,
                }
                for a in self.acks.values()
            ],
            "open": {key: start.isoformat() for key, start in self.open.items()},
        }
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".acks.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
            os.replace(tmp, self.path)
            tmp = None
        except OSError as exc:
            self.save_error = f"cannot save acknowledgements to {self.path}: {_why(exc)}"
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return self.save_error

    def _load(self, path: Path) -> None:
        error = self._read(path)
        if error is None:
            return
        if not error.startswith("corrupt"):
            self.load_error = f"{error}; acknowledgements are kept in memory only"
            self._keep_file = error
            return
        aside = path.with_suffix(".corrupt")
        try:
            os.replace(path, aside)
        except OSError as exc:
            self._keep_file = f"{path} is corrupt and could not be moved aside ({_why(exc)})"
            self.load_error = f"{self._keep_file}; acknowledgements are kept in memory only"
            return
        self.load_error = (
            f"acknowledgements file {path} was unreadable ({error.removeprefix('corrupt: ')}); "
            f"moved aside to {aside.name}, starting with none"
        )

    def _read(self, path: Path) -> str | None:
        """Load ``path`` into this store; what was wrong with it, or None.

        "corrupt: ..." means the content (the file can be moved aside);
        anything else, that it could not be read at all.
        """
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None  # no file there (yet): nothing to keep
        except OSError as exc:
            return f"cannot read {path}: {_why(exc)}"
        try:
            if len(raw) > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES // 1024} kB")
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                version = data.get("version") if isinstance(data, dict) else None
                raise ValueError(f"unknown state version {version!r}")
            acks: dict[str, Ack] = {}
            for item in data.get("acks", []):
                count = item.get("count")
                ack = Ack(
                    str(item["occurrence"]),
                    str(item["key"]),
                    str(item.get("note", "")),
                    _parse_time(item["acked_at"]),
                    count if isinstance(count, int) and not isinstance(count, bool) else None,
                )
                acks[ack.occurrence] = ack
            opened = {str(k): _parse_time(v) for k, v in dict(data.get("open", {})).items()}
        except RecursionError:
            return "corrupt: nested too deep"
        except Exception as exc:  # any content at all: a warning, never a traceback
            text = str(exc)
            return f"corrupt: {type(exc).__name__}: {text[:120]}"
        self.acks.update(acks)
        self.open.update(opened)
        return None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ack_store_for(config: Config, default: Callable[[], AckStore]) -> AckStore:
    """Shared acknowledgements when a pane is fed by NATS (``shared_acks``,
    imported only then), else ``default()``."""
    for spec in config.backends_in_use():
        if spec.type == "nats":
            from console.shared_acks import shared_store

            return shared_store(config, spec.options)
    return default()
