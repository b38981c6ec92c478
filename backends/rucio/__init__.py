"""The transfers pane from a real Rucio, through ``rucio-clients``.

One poll costs one ``list_replication_rules`` of the experiment's account
(incremental after the first, see ``rulecache``) and one ``get_rse_usage``
per RSE; the RSE list is cached. Nothing is asked per rule or per file: the
rules are aggregated in Python by ``backends.analysis.transfers``. A run's
drill-down (``fetch_run_detail``) asks for that run's rules, replicas and
transfer requests only.

The client only reads (``client.ReadOnlyClient``), every request has a
timeout, and an error becomes one ``SourceError`` line without the password
or token; the next poll simply tries again (with a fresh client if the last
one failed), so the pane recovers by itself when the server is back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from rucio.common.exception import RequestNotFound, RucioException, ServerConnectionException

from backends.model import Replica, Rule, RuleState, RunDetail, TransferRequest, TransfersSnapshot
from backends.rucio.aggregate import (
    RunMatcher,
    replica_states,
    request_from_dict,
    rse_status,
    rule_from_dict,
)
from backends.rucio.client import ReadOnlyClient, ReadOnlyViolation, make_client
from backends.rucio.options import RucioOptions, parse_options
from backends.rucio.rulecache import RuleCache
from backends.sources import Backend, RunDetailSource, SourceError, TransfersSource

__all__ = ["ReadOnlyViolation", "RucioBackend"]

#: Request states asked of the admin-only ``list_requests``: all but DONE.
OPEN_REQUEST_STATES = "Q,G,S,F,L,N,O,A,M,U,W,P"
_MASK = "***"


class RucioBackend(Backend, TransfersSource, RunDetailSource):
    """Serves the transfers pane and run drill-down from a Rucio server."""

    name: ClassVar[str] = "rucio"
    description: ClassVar[str] = "Rucio RSEs, rules and replicas through rucio-clients"

    def __init__(self, options: Mapping[str, Any], client_factory: Any = None) -> None:
        super().__init__(options)
        self.settings: RucioOptions = parse_options(options)
        # Keep no plain password where a repr or a debugger could show it.
        self.options = {k: (_MASK if k == "password" else v) for k, v in self.options.items()}
        self._factory = client_factory or make_client
        self._matcher = RunMatcher(self.settings.run_pattern)
        self._pool: list[ReadOnlyClient] = []
        self._pool_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._cache = RuleCache(self.settings.full_sync_minutes * 60, self.settings.overlap_seconds)
        self._rses: list[Mapping[str, Any]] | None = None
        self._rses_at = 0.0
        #: Requests sent by every client this backend made, per route.
        self.requests_sent: dict[str, int] = {}

    # ----------------------------------------------------------- clients

    @contextlib.contextmanager
    def _client(self, what: str) -> Iterator[ReadOnlyClient]:
        """A client for one job; dropped if the job fails, so the next one starts fresh."""
        with self._pool_lock:
            client = self._pool.pop() if self._pool else None
        before: dict[str, int] = {}
        if client is None:
            try:
                client = self._factory(self.settings)
            except Exception as exc:
                raise SourceError(
                    self._describe(f"cannot connect to Rucio at {self._where()}", exc)
                ) from None
        else:
            before = dict(client.requests_sent)
        try:
            yield client
        except SourceError:
            raise
        except Exception as exc:
            self._count(client, before)
            _close(client)
            raise SourceError(self._describe(f"rucio {what} at {self._where()}", exc)) from None
        self._count(client, before)
        with self._pool_lock:
            self._pool.append(client)

    def _count(self, client: ReadOnlyClient, before: Mapping[str, int]) -> None:
        with self._pool_lock:
            for route, n in client.requests_sent.items():
                self.requests_sent[route] = (
                    self.requests_sent.get(route, 0) + n - before.get(route, 0)
                )

    def _where(self) -> str:
        return self.settings.host or "the host of rucio.cfg"

    def _describe(self, context: str, exc: BaseException) -> str:
        """``message (Type; context)`` on one line, the configured secrets masked.

        The message comes first: a pane's status line has room for little more.
        """
        text = " ".join(str(exc).split())
        text = text.replace("An unknown exception occurred. Details: ", "")
        line = f"{text or type(exc).__name__} ({type(exc).__name__}; {context})"
        for secret in (self.settings.password,):
            if secret:
                line = line.replace(secret, _MASK)
        return line[:400]

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for client in pool:
            _close(client)

    # --------------------------------------------------------- transfers

    def fetch_transfers(self) -> TransfersSnapshot:
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> TransfersSnapshot:
        notes: list[str] = []
        with self._client("poll") as client:
            rses = self._rse_list(client)
            account = self.settings.rule_account or self.settings.account or client.account
            filters, full = self._cache.next_filters(account)
            started = time.monotonic()
            records = list(client.list_replication_rules(filters))
            statuses = []
            for info in rses:
                try:
                    usages = list(client.get_rse_usage(info["rse"]))
                except (OSError, ServerConnectionException):
                    raise  # the server, not this RSE: the poll fails
                except RucioException as exc:  # e.g. an RSE deleted since it was listed
                    notes.append(self._describe(f"usage of {info['rse']}", exc))
                    usages = None
                statuses.append(rse_status(info, usages))
        self._cache.apply(records, self._matcher, full, started)
        return TransfersSnapshot(
            datetime.now(UTC),
            tuple(statuses),
            self._cache.rules,
            malformed=(*notes, *self._cache.malformed),
        )

    def _rse_list(self, client: ReadOnlyClient) -> list[Mapping[str, Any]]:
        """The RSEs, listed again only every ``rse_cache_minutes``."""
        now = time.monotonic()
        if self._rses is None or now - self._rses_at >= self.settings.rse_cache_minutes * 60:
            found = []
            for info in client.list_rses(self.settings.rse_expression):
                if isinstance(info, Mapping) and isinstance(info.get("rse"), str):
                    found.append(info)
            self._rses = sorted(found, key=lambda i: i["rse"])
            self._rses_at = now
        return self._rses

    # ------------------------------------------------------- drill-down

    def fetch_run_detail(self, run_number: int, run_name: str | None = None) -> RunDetail:
        """The run's rules, file replicas and open transfer requests.

        Runs are found through the cached rules: by number when ``run_pattern``
        has a ``number`` group, else by ``run_name`` when the caller gives it.
        """
        with self._poll_lock:
            if not self._cache.rules:
                self._poll()
            mine = [
                r
                for r in self._cache.rules
                if r.run_number == run_number or (run_name and r.run_name == run_name)
            ]
        now = datetime.now(UTC)
        notes: list[str] = []
        if not mine:
            if "number" not in self.settings.run_pattern.groupindex and run_name is None:
                notes.append(
                    "Rucio DIDs name runs by name (run_pattern has no 'number' "
                    "group): no rule can be matched by run number alone"
                )
            else:
                notes.append(f"no Rucio rule of this account for run {run_number}")
            return RunDetail(now, run_number, notes=tuple(notes))
        dids = sorted({(r.scope, r.name) for r in mine})
        with self._client("run details") as client:
            rules = self._did_rules(client, dids, notes)
            replicas = self._replicas(client, dids, notes)
            requests = self._requests(client, rules, replicas, notes)
        return RunDetail(
            now,
            run_number,
            rules=tuple(rules),
            replicas=tuple(replicas),
            requests=tuple(requests),
            notes=tuple(notes),
        )

    def _did_rules(
        self, client: ReadOnlyClient, dids: list[tuple[str, str]], notes: list[str]
    ) -> list[Rule]:
        rules: list[Rule] = []
        for scope, name in dids:
            for record in client.list_replication_rules({"scope": scope, "name": name}):
                try:
                    rules.append(rule_from_dict(record, self._matcher))
                except ValueError as exc:
                    notes.append(str(exc))
        return sorted(rules, key=lambda r: (r.rse, r.id))

    def _replicas(
        self, client: ReadOnlyClient, dids: list[tuple[str, str]], notes: list[str]
    ) -> list[Replica]:
        records = list(
            client.list_replicas([{"scope": s, "name": n} for s, n in dids], all_states=True)
        )
        try:
            return replica_states(records)
        except ValueError as exc:
            notes.append(f"replicas: {exc}")
            return []

    def _requests(
        self, client: ReadOnlyClient, rules: list[Rule], replicas: list[Replica], notes: list[str]
    ) -> list[TransferRequest]:
        """Open requests of the run's rules that are not OK.

        An admin account asks ``list_requests`` once per source and destination
        RSE; any other account asks ``list_request_by_did`` per file not yet
        available at a rule's RSE, up to ``max_request_lookups``.
        """
        open_rses = sorted({r.rse for r in rules if r.state is not RuleState.OK})
        if not open_rses:
            return []
        scopes = {r.scope for r in rules}
        found: dict[str, TransferRequest] = {}
        if self.settings.admin:
            for dst in open_rses:
                for src in self.settings.source_rses:
                    if src == dst:
                        continue
                    for record in client.list_requests(src, dst, OPEN_REQUEST_STATES):
                        self._add_request(found, record, scopes, notes)
            return sorted(found.values(), key=lambda q: (q.rse, q.name))
        wanted = [
            (rep.scope, rep.name, rep.rse)
            for rep in replicas
            if rep.rse in open_rses and rep.state != "AVAILABLE"
        ]
        if len(wanted) > self.settings.max_request_lookups:
            notes.append(
                f"requests looked up for {self.settings.max_request_lookups} of "
                f"{len(wanted)} files (max_request_lookups)"
            )
            wanted = wanted[: self.settings.max_request_lookups]
        for scope, name, rse in wanted:
            try:
                record = client.list_request_by_did(name, rse, scope)
            except RequestNotFound:
                continue
            self._add_request(found, record, scopes, notes)
        return sorted(found.values(), key=lambda q: (q.rse, q.name))

    @staticmethod
    def _add_request(
        found: dict[str, TransferRequest], record: object, scopes: set[str], notes: list[str]
    ) -> None:
        try:
            request = request_from_dict(record)
        except ValueError as exc:
            notes.append(f"request: {exc}")
            return
        if request.scope in scopes:
            found[request.id] = request


def _close(client: ReadOnlyClient) -> None:
    with contextlib.suppress(Exception):  # closing a broken session: nothing to report
        client.session.close()
