"""Source interfaces: one per kind of data, and the backend that provides them.

A backend is built from its section of the config and provides one or more
kinds. The console polls each kind it was told to take from a backend in its
own worker thread, so a backend's ``fetch_*`` methods may be called from
several threads at once and must be safe for that. They may raise any
exception; the console shows its message (redacted) as the pane's error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from backends.model import (
    BufferSnapshot,
    JobsSnapshot,
    Kind,
    RunDetail,
    RunsSnapshot,
    Snapshot,
    TapeSnapshot,
    TransfersSnapshot,
)


class BackendConfigError(ValueError):
    """A backend's config section is wrong; the message names the problem."""


class SourceError(RuntimeError):
    """A fetch failed in a way the backend could explain in one line."""


class BufferSource(ABC):
    @abstractmethod
    def fetch_buffer(self) -> BufferSnapshot: ...


class TransfersSource(ABC):
    @abstractmethod
    def fetch_transfers(self) -> TransfersSnapshot: ...


class TapeSource(ABC):
    @abstractmethod
    def fetch_tape(self) -> TapeSnapshot: ...


class JobsSource(ABC):
    @abstractmethod
    def fetch_jobs(self) -> JobsSnapshot: ...


class RunsSource(ABC):
    @abstractmethod
    def fetch_runs(self) -> RunsSnapshot: ...


class RunDetailSource(ABC):
    """Optional: everything a backend knows about one run, for drill-down."""

    @abstractmethod
    def fetch_run_detail(self, run_number: int, run_name: str | None = None) -> RunDetail:
        """``run_name`` (``YYMMDD_HHMM``) when the console knows it: XENON1T's
        Rucio scopes carry the name, not the number."""


class Backend:
    """Base of every backend. Subclass it and the source interfaces it serves."""

    #: Short name shown in panes and reports.
    name: ClassVar[str] = "backend"
    #: One line for ``--help`` listings.
    description: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)

    @property
    def kinds(self) -> frozenset[Kind]:
        """The kinds this backend serves (``backends.kinds``: the interfaces it implements)."""
        from backends import kinds  # the registry reads this module's interfaces

        return kinds.served(self)

    def fetch(self, kind: Kind) -> Snapshot:
        """The snapshot of a kind it serves, by that kind's fetch method."""
        from backends import kinds

        snapshot: Snapshot = kinds.fetch(self, kind)
        return snapshot

    def subscribe(self, changed: Callable[[Kind], None]) -> None:
        """Call ``changed(kind)`` (from any thread) when new data of a kind is
        there to fetch: a backend fed by pushes (``nats``) wakes the kind's
        poll at once instead of at its next interval. Most backends are only
        polled and ignore this."""

    def data_age(self, kind: Kind) -> float:
        """Seconds the data of the last fetch of ``kind`` was already old when
        it was fetched (a relay's data was taken at its source earlier); the
        pane's age and STALE mark count from then."""
        return 0.0

    def close(self) -> None:
        """Release connections; called once when the console stops."""
