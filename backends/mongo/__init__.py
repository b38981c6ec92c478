"""The runs database on MongoDB: the runs pane, the tape pane and run drill-down.

XENON1T's runs database holds one document per run with every copy of its
data (``runs_new``; XENONnT's is ``runs``). This backend reads it with simple
queries (filters on top-level fields, a projection of the fields it uses) and
derives everything else in Python, so it is right on any server speaking the
MongoDB protocol. Polls after the first read only the recent tail of the
collection (see ``cache``), so 30,000 runs cost little per refresh; and a
document read again unchanged (the periodic full read) is not converted
again: its run is the object of last time (``cache.Converted``).

It only ever reads: ``find`` and the driver's own handshakes and pings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from backends.model import Heartbeat, Run, RunDetail, RunsSnapshot, TapeSnapshot
from backends.mongo.cache import Converted, RunsCache
from backends.mongo.connection import Settings, make_client, parse_settings, source_error
from backends.mongo.documents import (
    NO_TIME,
    PROJECTION,
    document_to_run,
    join_twins,
    run_number,
)
from backends.mongo.tape import TapeView, run_upload
from backends.mongo.xenonnt import (
    HEARTBEAT_DOCS,
    HEARTBEAT_PROJECTION,
    NT_PROJECTION,
    latest_heartbeat,
    nt_document_to_run,
)
from backends.sources import Backend, RunDetailSource, RunsSource, SourceError, TapeSource

__all__ = ["MongoBackend"]

Clock = Callable[[], datetime]
#: Converts one document (and a fallback number) to a run.
Reader = Callable[[Mapping[str, Any], int], Run]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MongoBackend(Backend, RunsSource, TapeSource, RunDetailSource):
    """Runs, tape and run details from a XENON runs database."""

    name: ClassVar[str] = "mongo"
    description: ClassVar[str] = "XENON runs database on MongoDB (runs, tape, run details)"

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        client: Any = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``client`` (e.g. mongomock's), ``clock``, ``environ`` and
        ``client_options`` (pymongo keywords such as ``event_listeners``) are
        for tests; the console passes only the options of the config section.
        """
        super().__init__(options)
        self.settings: Settings = parse_settings(self.options, environ)
        self._nt = self.settings.profile == "xenonnt"
        self._reader: Reader = nt_document_to_run if self._nt else document_to_run
        self._client = client
        self._client_lock = threading.Lock()
        self._client_options = dict(client_options or {})
        self._clock = clock or _utcnow
        self._lock = threading.Lock()
        self._cache = RunsCache()
        self._converted = Converted()
        self._tape = TapeView()
        self._tape_lock = threading.Lock()
        self._full_at: float | None = None
        #: How the last refresh read the collection: "full" or "tail", and the
        #: number of documents it read (for the bench and the tests).
        self.last_read: tuple[str, int] = ("", 0)
        #: Documents the last refresh converted (those new or changed).
        self.last_converted = 0

    # -------------------------------------------------------------- plumbing

    def _collection(self) -> Any:
        with self._client_lock:  # polls and drill-downs come from several threads
            if self._client is None:
                self._client = make_client(self.settings, **self._client_options)
            return self._client[self.settings.database][self.settings.collection]

    def _read(self, query: Mapping[str, Any], doing: str) -> list[dict[str, Any]]:
        try:
            projection = NT_PROJECTION if self._nt else PROJECTION
            return list(self._collection().find(query, dict(projection)))
        except Exception as exc:  # the driver's, or garbage it could not decode
            raise source_error(exc, self.settings, doing) from None

    def _refresh(self) -> tuple[Run, ...]:
        """Bring the cache up to date (tail read, or a full one when due)."""
        with self._lock:
            cache = self._cache
            now = time.monotonic()
            full_due = self._full_at is None or now - self._full_at >= self.settings.full_every
            if not cache.loaded or full_due:
                docs = self._read({}, f"reading {self.settings.target}")
                numeric, odd = _convert(docs, self._converted.full_read(), self._reader)
                cache.load_full(numeric, odd)
                self._full_at = now
                self.last_read = ("full", len(docs))
            else:
                floor = cache.tail_floor(timedelta(days=self.settings.recent_days))
                docs = self._read(
                    {"number": {"$gte": floor}},
                    f"reading runs from {floor} in {self.settings.target}",
                )
                # Only documents with a numeric number match the filter; the
                # odd ones are refreshed by the full reads.
                numeric, _ = _convert(docs, self._converted.tail_read(), self._reader)
                cache.load_tail(floor, numeric)
                self.last_read = ("tail", len(docs))
            self._converted.done()
            self.last_converted = self._converted.fresh
            return cache.runs

    # --------------------------------------------------------------- sources

    def heartbeats(self) -> tuple[Heartbeat, ...]:
        """XENONnT: each event builder's last heartbeat (bootstrax's
        ``eb_monitor``), one bounded query per configured host; a host with
        no document is never seen (``seen`` False: the alarm calls it
        silent). Raises ``SourceError`` when a query fails."""
        settings = self.settings
        where = f"{settings.heartbeat_database}.{settings.heartbeat_collection}"
        out = []
        try:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(settings, **self._client_options)
                client = self._client
            collection = client[settings.heartbeat_database][settings.heartbeat_collection]
            for host in settings.event_builders:
                docs = list(
                    collection.find(
                        {"host": host},
                        dict(HEARTBEAT_PROJECTION),
                        sort=[("time", -1)],
                        limit=HEARTBEAT_DOCS,
                    )
                )
                out.append(latest_heartbeat(host, docs))
        except Exception as exc:  # the driver's, or garbage it could not decode
            raise source_error(exc, settings, f"reading heartbeats in {where}") from None
        return tuple(out)

    def fetch_runs(self) -> RunsSnapshot:
        runs = self._refresh()
        data_taking = None
        if runs:
            data_taking = runs[-1].end is None
        if not self._nt:
            return RunsSnapshot(self._clock(), runs, data_taking=data_taking)
        # The runs came; heartbeats that do not are unknown, not "all well".
        beats: tuple[Heartbeat, ...] | None = None
        error = None
        try:
            beats = self.heartbeats()
        except SourceError as exc:
            error = str(exc)
        return RunsSnapshot(
            self._clock(), runs, data_taking=data_taking, heartbeats=beats, heartbeats_error=error
        )

    def fetch_tape(self) -> TapeSnapshot:
        runs = self._refresh()
        with self._tape_lock:
            return self._tape.snapshot(runs, self._clock())

    def fetch_run_detail(self, run_number: int, run_name: str | None = None) -> RunDetail:
        # A number written as text ("123") is the same run to the reader (and
        # in the runs pane, which joins such twins): ask for both forms.
        docs = self._read(
            {"number": {"$in": [run_number, str(run_number)]}},
            f"reading run {run_number} in {self.settings.target}",
        )
        taken_at = self._clock()
        runs = [
            r
            for r in (_safe_run(doc, run_number, self._reader) for doc in docs)
            if r.number == run_number
        ]
        if not runs:
            return RunDetail(
                taken_at,
                run_number,
                notes=(f"no document with number {run_number} in {self.settings.target}",),
            )
        # Several documents with one number: one run with twins, whose verdict
        # is the worst of them (never the cleanest document's).
        run = join_twins(runs)[0]
        upload = run_upload(run)
        return RunDetail(taken_at, run_number, run=run, tape=() if upload is None else (upload,))

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _convert(
    docs: Iterable[Mapping[str, Any]],
    converted: Converted | None = None,
    reader: Reader = document_to_run,
) -> tuple[list[Run], list[Run]]:
    """Runs of documents the server compares by number, and the odd ones.

    Odd documents (number missing or text) get negative numbers in the order
    read, so each is still shown, apart from the real runs. With
    ``converted``, a numeric document seen before unchanged is not converted
    again.
    """
    numeric: list[Run] = []
    odd: list[Run] = []
    unnumbered = 0
    for doc in docs:
        if run_number(doc.get("number")) is not None:
            if converted is None:
                numeric.append(_safe_run(doc, -1, reader))
            else:
                numeric.append(converted.run(doc, lambda d, n: _safe_run(d, n, reader)))
        else:
            run = _safe_run(doc, -(unnumbered + 1), reader)
            unnumbered += run.number < 0
            odd.append(run)
    return numeric, odd


def _safe_run(
    doc: Mapping[str, Any], fallback_number: int, reader: Reader = document_to_run
) -> Run:
    """``document_to_run`` (or the XENONnT reader), and should it ever fail,
    still a row that says so."""
    try:
        return reader(doc, fallback_number)
    except Exception as exc:  # one bad document must not hide the others
        number = run_number(doc.get("number"))
        return Run(
            number=fallback_number if number is None else number,
            name="?",
            start=NO_TIME,
            end=None,
            detector="unknown",
            source="unknown",
            tags=(),
            events=None,
            raw_size_bytes=None,
            malformed=(f"unreadable document: {type(exc).__name__}",),
        )
